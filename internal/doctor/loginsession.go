package doctor

import (
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// judgeLoginOutput judges again, by the serve rule of aws login sessions,
// output that the general rule warned about: their credentials last 15
// minutes at most, so credhelper prints them down to
// protocol.MinServeShortLived, and botocore, which runs the process on
// every access inside 15 minutes, gets more than the 10 it needs each time.
func judgeLoginOutput(stdout []byte, now time.Time, v Verdict, detail string) (Verdict, string) {
	var o protocol.ProcessOutput
	if jsonwire.Unmarshal(stdout, &o) != nil || o.ValidateFloor(now, protocol.MinServeShortLived) != nil {
		return v, detail
	}
	exp, _ := time.Parse(time.RFC3339, o.Expiration)
	return OK, "credential_process gave an aws login session's credentials, " + roundDuration(exp.Sub(now)) +
		" left (expire " + o.Expiration + "): they last 15 minutes, so credhelper serves them with more than 11 left and credd renews them ahead; botocore runs the process on each access inside 15 minutes, which credd answers from memory"
}
