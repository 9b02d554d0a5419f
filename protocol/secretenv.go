package protocol

// EnvKeyringPassphrase is the file keyring's passphrase. credd reads it once
// at start and drops it from its environment; no program credhelper or credd
// starts inherits it (see SecretEnv), and an auto-started credd gets it on
// its stdin, not in its environment.
const EnvKeyringPassphrase = "CREDHELPER_KEYRING_PASSPHRASE"

// SecretEnv lists the variables that hold a secret of credhelper's own. They
// are removed from the environment of every program the two binaries start
// (internal/proc does it).
var SecretEnv = []string{EnvKeyringPassphrase}
