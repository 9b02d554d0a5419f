package fakesignin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// TestRefusesWhatAWSRefuses: the fake answers a good session with a token
// whose login URL redirects once to the destination, and refuses a
// malformed session, long-term keys (no token), a SessionDuration out of
// range or with a federation token, what Verify refuses, and a login with a
// token it never issued.
func TestRefusesWhatAWSRefuses(t *testing.T) {
	s := Start(t)
	s.SetFederated(func(x Session) bool { return x.SessionID == "AKIAFEDERATED" })
	get := func(q url.Values) (*http.Response, map[string]string) {
		t.Helper()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(s.URL + "/federation?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	session := func(id, key, token string) string {
		b, _ := json.Marshal(map[string]string{"sessionId": id, "sessionKey": key, "sessionToken": token})
		return string(b)
	}
	good := session("ASIAEXAMPLE", "secret", "token")
	for name, q := range map[string]url.Values{
		"malformed":               {"Action": {"getSigninToken"}, "Session": {"{not json"}},
		"extra field":             {"Action": {"getSigninToken"}, "Session": {`{"sessionId":"a","sessionKey":"b","sessionToken":"c","x":1}`}},
		"long-term keys":          {"Action": {"getSigninToken"}, "Session": {session("AKIAEXAMPLE", "secret", "")}},
		"duration too short":      {"Action": {"getSigninToken"}, "Session": {good}, "SessionDuration": {"899"}},
		"duration too long":       {"Action": {"getSigninToken"}, "Session": {good}, "SessionDuration": {"43201"}},
		"duration with fed token": {"Action": {"getSigninToken"}, "Session": {session("AKIAFEDERATED", "s", "t")}, "SessionDuration": {"3600"}},
		"unknown action":          {"Action": {"getFederationToken"}},
		"login, unknown token":    {"Action": {"login"}, "Destination": {"https://console.aws.amazon.com/"}, "SigninToken": {"nope"}},
	} {
		if resp, _ := get(q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if n := len(s.Sessions()); n != 0 {
		t.Fatalf("%d refused sessions were recorded", n)
	}

	resp, body := get(url.Values{"Action": {"getSigninToken"}, "Session": {good}, "SessionDuration": {"3600"}})
	if resp.StatusCode != http.StatusOK || body["SigninToken"] == "" {
		t.Fatalf("good session: %d %v", resp.StatusCode, body)
	}
	resp, _ = get(url.Values{"Action": {"login"}, "Issuer": {"test"}, "Destination": {"https://console.aws.amazon.com/s3/"}, "SigninToken": {body["SigninToken"]}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://console.aws.amazon.com/s3/" || s.Logins() != 1 {
		t.Errorf("login: %d to %q, logins %d", resp.StatusCode, resp.Header.Get("Location"), s.Logins())
	}

	s.SetVerify(func(Session) error { return errors.New("expired") })
	if resp, _ := get(url.Values{"Action": {"getSigninToken"}, "Session": {good}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a session Verify refuses: %d, want 400", resp.StatusCode)
	}
}
