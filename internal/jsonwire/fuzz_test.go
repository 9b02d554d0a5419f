package jsonwire_test

import (
	"reflect"
	"testing"
)

// FuzzMarshal: every wire type, filled with fuzzed strings and numbers, is
// written byte for byte as encoding/json writes it.
func FuzzMarshal(f *testing.F) {
	f.Add("AKIDEXAMPLE", "<&>\u2028", int64(1), int64(1764259445))
	f.Add("\xff\x00\"\\", "", int64(-1), int64(0))
	f.Add("é", "\x7f\x1f", int64(1<<62), int64(-7))
	f.Fuzz(func(t *testing.T, s1, s2 string, n1, n2 int64) {
		for _, w := range wireTypes {
			v := reflect.New(reflect.TypeOf(w)).Elem()
			fl := &filler{strs: []string{s1, s2, ""}, nums: []int64{n1, n2, 0, n1 ^ n2, 1}}
			fl.fill(v)
			sameMarshal(t, v.Interface())
		}
	})
}

// FuzzUnmarshal: any input, into every wire type and into any, succeeds or
// fails as with encoding/json, with the same error and the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s","SessionToken":"t","Expiration":"2026-11-27T16:04:05Z"}`,
		`{"error":{"code":"needs_mfa","message":"m"}}`, `[1,{"a":null},"\u00e9\ud800"]`, `{"Version":"1"}`,
		`{"schemaVersion":1,"profiles":[{"definition":"d","expiration":"2026-11-27T16:04:05Z"}]}`, `1e999`, `{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	targets := unmarshalTargets()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range targets {
			sameUnmarshal(t, data, typ)
		}
	})
}
