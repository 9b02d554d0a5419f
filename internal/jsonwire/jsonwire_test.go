package jsonwire_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// Strings that escaping must get right: HTML-significant characters, JS line
// terminators, control characters, DEL, invalid UTF-8, non-ASCII.
var trickyStrings = []string{
	"", "AKIDEXAMPLE", `a"b\c/d`, "<script>&amp;</script>", "line\u2028para\u2029end",
	"\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f", "bad\xffutf8\xc3", "é☃🙂", "\ufffd", "\xed\xa0\x80",
	"tab\there", strings.Repeat("x", 300),
}

func TestMarshalIsEncodingJSONs(t *testing.T) {
	exp := time.Date(2026, 11, 27, 16, 4, 5, 123456789, time.UTC)
	one := 1
	values := []any{
		nil, true, false, 0, -42, uint64(math.MaxUint64), int64(math.MinInt64),
		1.5, 1e21, 1e20, 1e-6, 1e-7, -0.0, float32(3.14), float32(1e21), 123456789.0, 5e-324,
		"", []string(nil), []string{}, map[string]int(nil), map[string]int{},
		map[string]int{"b": 1, "a": 2, "é": 3, "A": 4, "": 5}, []any{1.0, "x", nil, true, map[string]any{}},
		&one, (*int)(nil), [0]int{}, [2]string{"a", "b"},
		jsonwire.RawMessage(`{ "a" : [1, 2 ,"<&>"] }`), jsonwire.RawMessage(nil),
		map[string]jsonwire.RawMessage{"x": jsonwire.RawMessage(" true ")},
		exp, time.Time{}, exp.In(time.FixedZone("", -5*3600)),
		protocol.NewProcessOutput(protocol.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s<>&",
			SessionToken: "tok\u2028", Expiration: exp, AccountID: "123456789012"}),
		protocol.ProcessOutput{Version: 1, AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s"},
		protocol.Credentials{}, protocol.Credentials{Expiration: exp},
		protocol.StateResponse{}, protocol.StateResponse{Profiles: []protocol.ProfileState{{Definition: "d", LastServed: exp}}, SSOSessions: []protocol.SessionState{}},
		protocol.ErrorResponse{Error: protocol.Error{Code: protocol.CodeNeedsMFA, Message: "m"}},
		&protocol.SSOAccountsResponse{Accounts: []protocol.SSOAccount{{Roles: []string{}}, {}}},
		protocol.ClockProbeResponse{Skew: -time.Second},
	}
	for _, s := range trickyStrings {
		values = append(values, s, map[string]string{s: s},
			protocol.ProcessOutput{Version: 1, AccessKeyID: s, SecretAccessKey: s, SessionToken: s, Expiration: s, AccountID: s},
			protocol.Error{Code: protocol.Code(s), Message: s, Remedy: s})
	}
	for _, w := range wireTypes {
		values = append(values, w)
	}
	for _, v := range values {
		sameMarshal(t, v)
	}
}

func TestMarshalRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), make(chan int),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), jsonwire.RawMessage(`{"a":`), jsonwire.RawMessage(`1 2`)} {
		if _, err := jsonwire.Marshal(v); err == nil {
			t.Errorf("Marshal(%#v) succeeded, want an error", v)
		}
	}
	// What encoding/json supports but no wire type uses is refused, not
	// written differently.
	type embedded struct{ protocol.Error }
	for _, v := range []any{[]byte("x"), map[int]string{1: "a"}, embedded{}, struct {
		N int `json:"n,string"`
	}{}} {
		if _, err := jsonwire.Marshal(v); err == nil {
			t.Errorf("Marshal(%#v) succeeded, want an unsupported-type error", v)
		}
	}
}

func TestUnmarshalIsEncodingJSONs(t *testing.T) {
	inputs := []string{
		``, ` `, `null`, `true`, `false`, `0`, `-0`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `1.5e-3`, `1E400`, `-1e400`,
		`"x"`, `"\u00e9\ud83d\ude42\ud800\udc00x\udc00\ud800"`, `"\ud800\u0041"`, `"\x"`, "\"a\x01\"", "\"\xff\xfe\"",
		`"\/\b\f\n\r\t\"\\"`, `"\u12G4"`, `"abc`, `[]`, `[1,]`, `[1 2]`, `{}`, `{,}`, `{"a"}`, `{"a":}`, `{"a":1,}`,
		`{"a":1 "b":2}`, `nul`, `tru`, `falsey`, `{} {}`, `{}x`, "\t{}\n", `[1,[2,[3]],{"a":{"b":null}}]`,
		`{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s","SessionToken":"t","Expiration":"2026-11-27T16:04:05Z","AccountId":"1"}`,
		`{"version":"1","accesskeyid":1,"SECRETACCESSKEY":true,"extra":{"x":[1,2]},"Version":2}`,
		`{"Version":1.5}`, `{"Version":1e3}`, `{"Version":99999999999999999999}`, `{"Version":-1}`, `{"Version":null,"AccessKeyId":null}`,
		`{"AccessKeyId":["a"],"SecretAccessKey":{"b":1},"Version":"x"}`,
		"{\"\u212aind\":\"sso\",\"ſtate\":\"fresh\",\"definition\":\"d\"}",
		`{"error":{"code":"needs_mfa","message":"m","profile":"p","mfaSerial":"arn"}}`,
		`{"error":"x"}`, `{"error":{"code":5}}`,
		`{"credentials":{"accessKeyId":"A","secretAccessKey":"S","expiration":"2026-11-27T16:04:05.5+01:00"}}`,
		`{"credentials":{"expiration":"not a time"}}`, `{"credentials":{"expiration":5}}`, `{"credentials":{"expiration":null}}`,
		`{"schemaVersion":1,"daemon":{"pid":7,"started":"2026-11-27T16:04:05Z"},"profiles":[{"definition":"d","state":"fresh","failures":2}],"ssoSessions":[],"mfaSessions":null}`,
		`{"profiles":[{"failures":"2"},{"failures":3}]}`, `{"profiles":{}}`, `{"accounts":[{"roles":["a",1,"b"]}]}`,
		`{"skew":1000000000,"serverTime":"2026-11-27T16:04:05Z"}`, `{"skew":1.5}`,
		`{"a":1,"b":"x","c":1.5,"d":-1e39,"e":256,"f":-129,"g":[1,2,3],"h":{"x":[null]},"i":[1,null],"J":{"x":5},"k":{"a":{"code":"c"}},"l":1,"M":1,"-":2}`,
		`{"g":[1],"e":-1,"c":"s"}`, `[1,2,3]`, `[1,"a"]`, `{"a":{"a":{"a":1}}}`, `"\u0000"`,
		strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000),
		strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
		strings.Repeat(`[`, 200000),
	}
	for _, in := range inputs {
		for _, typ := range unmarshalTargets() {
			sameUnmarshal(t, []byte(in), typ)
		}
	}
}

// Doctor's messages read these errors: a second value after the first
// ("after top-level value"), and a field of the wrong kind.
func TestErrorsDoctorReads(t *testing.T) {
	var raw map[string]jsonwire.RawMessage
	err := jsonwire.Unmarshal([]byte(`{"Version":1}{"Version":1}`), &raw)
	var se *jsonwire.SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Error(), "after top-level value") || se.Offset != 14 {
		t.Errorf("two objects: got %#v, want a syntax error after the top-level value at offset 14", err)
	}
	var o protocol.ProcessOutput
	err = jsonwire.Unmarshal([]byte(`{"Version":"1","AccessKeyId":"A"}`), &o)
	var te *jsonwire.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "Version" || te.Value != "string" || te.Struct != "ProcessOutput" {
		t.Fatalf("Version as a string: got %#v, want a type error naming field Version and a JSON string", err)
	}
	if o.AccessKeyID != "A" {
		t.Errorf("the fields after a type error are decoded too, as encoding/json does: AccessKeyId = %q", o.AccessKeyID)
	}
	var nested protocol.StateResponse
	err = jsonwire.Unmarshal([]byte(`{"profiles":[{"failures":1.5}]}`), &nested)
	if !errors.As(err, &te) || te.Field != "profiles.failures" || te.Value != "number 1.5" {
		t.Errorf("nested: got %#v, want field profiles.failures, value number 1.5", err)
	}
	if err := jsonwire.Unmarshal([]byte(`{}`), o); err == nil {
		t.Error("Unmarshal into a non-pointer succeeded")
	}
}

// Input nested far past the limit is refused without exhausting the stack.
func TestHostileDepth(t *testing.T) {
	for _, in := range []string{strings.Repeat("[", 1<<22), strings.Repeat(`{"a":`, 1<<20) + "1" + strings.Repeat("}", 1<<20)} {
		var v any
		err := jsonwire.Unmarshal([]byte(in), &v)
		var se *jsonwire.SyntaxError
		if !errors.As(err, &se) || !strings.HasSuffix(se.Error(), "exceeded max depth") {
			t.Errorf("got %v, want exceeded max depth", err)
		}
	}
}

// RawMessage round-trips what it holds, as encoding/json's does.
func TestRawMessage(t *testing.T) {
	var m map[string]jsonwire.RawMessage
	if err := jsonwire.Unmarshal([]byte(`{"a": { "b" : [1, 2] }, "n": null}`), &m); err != nil {
		t.Fatal(err)
	}
	if string(m["a"]) != `{ "b" : [1, 2] }` || string(m["n"]) != "null" {
		t.Errorf("got %q", m)
	}
	out, err := jsonwire.Marshal(m)
	if err != nil || string(out) != `{"a":{"b":[1,2]},"n":null}` {
		t.Errorf("Marshal: %s, %v", out, err)
	}
	var std map[string]json.RawMessage
	if err := json.Unmarshal(out, &std); err != nil || !reflect.DeepEqual(rawStrings(std), rawStrings(map[string]jsonwire.RawMessage{"a": []byte(`{"b":[1,2]}`), "n": []byte("null")})) {
		t.Errorf("encoding/json reads it back as %q, %v", std, err)
	}
}
