package cache

import (
	jose "github.com/dvsekhvalnov/jose2go"
)

// The file backend (99designs/keyring) encrypts each item as a JWE whose key
// is derived from the passphrase with PBES2-HS256+A128KW: PBKDF2-HMAC-SHA256
// with the iteration count ("p2c") written in the item's header. jose2go
// writes 8,192 by default and, before v1.6, read any count a file asked for.
const (
	// FileKDFIterations is the count credd writes. It is what one load or
	// save of an item costs (see BenchmarkFileKeyringKDF).
	FileKDFIterations = 600_000
	// Counts read outside [fileKDFMinIterations, fileKDFMaxIterations] are
	// refused before any work: a file asking for 2^31 iterations would
	// otherwise hold the keyring for minutes. The minimum is RFC 7518's; the
	// maximum leaves room to raise FileKDFIterations later. Items written
	// with 8,192 (credhelper before this) stay readable.
	fileKDFMinIterations = 1_000
	fileKDFMaxIterations = 1_000_000
)

func init() {
	// Replaces jose2go's own PBES2 algorithms, for this process: credd is
	// the only one using jose2go.
	jose.RegisterJwa(pbes2{jose.NewPbse2HmacAesKWAlg(128, fileKDFMaxIterations, fileKDFMinIterations), FileKDFIterations})
	jose.RegisterJwa(pbes2{jose.NewPbse2HmacAesKWAlg(192, fileKDFMaxIterations, fileKDFMinIterations), FileKDFIterations})
	jose.RegisterJwa(pbes2{jose.NewPbse2HmacAesKWAlg(256, fileKDFMaxIterations, fileKDFMinIterations), FileKDFIterations})
}

// pbes2 is jose2go's PBES2 algorithm that writes iterations rather than
// jose2go's default when it encrypts; decrypting is jose2go's, bounds
// included.
type pbes2 struct {
	jose.JwaAlgorithm
	iterations int
}

func (a pbes2) WrapNewKey(cekSizeBits int, key any, header map[string]any) (cek, encryptedCek []byte, err error) {
	header["p2c"] = a.iterations
	return a.JwaAlgorithm.WrapNewKey(cekSizeBits, key, header)
}
