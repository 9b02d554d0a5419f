package jsonwire_test

// encoding/json is the oracle: jsonwire must write the same bytes and read
// the same values, for every type credhelper puts on a wire.

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/doctor"
	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// ssoToken is the shape internal/doctor reads an SSO cache file into.
type ssoToken struct {
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	RefreshToken          string `json:"refreshToken"`
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret"`
	RegistrationExpiresAt string `json:"registrationExpiresAt"`
}

// doctorReport is the shape of `credhelper doctor --json`.
type doctorReport struct {
	SchemaVersion int                    `json:"schemaVersion"`
	Problems      int                    `json:"problems"`
	Warnings      int                    `json:"warnings"`
	Verdict       []doctor.FamilyVerdict `json:"verdict"`
	Checks        []doctor.Check         `json:"checks"`
}

// wireTypes are every type credhelper marshals or unmarshals with jsonwire
// (protocol's wire types, doctor's output and inputs), plus the generic
// shapes. A new wire type belongs here.
var wireTypes = []any{
	protocol.Credentials{}, protocol.ProcessOutput{}, protocol.CredentialsRequest{},
	protocol.CredentialsResponse{}, protocol.MFARequest{}, protocol.MFAResponse{},
	protocol.AddKeysRequest{}, protocol.RemoveKeysRequest{}, protocol.OKResponse{},
	protocol.StatusResponse{}, protocol.ErrorResponse{}, protocol.Error{},
	protocol.LoginRequest{}, protocol.LoginResponse{}, protocol.LoginWaitRequest{},
	protocol.LoginWaitResponse{}, protocol.LogoutRequest{}, protocol.RenameKeysRequest{},
	protocol.SSOAccountsRequest{}, protocol.SSOAccountsResponse{}, protocol.SSOAccount{},
	protocol.StateResponse{}, protocol.ProfileState{}, protocol.SessionState{},
	protocol.ClockProbeRequest{}, protocol.ClockProbeResponse{},
	protocol.KeyringProbeRequest{}, protocol.KeyringProbeResponse{},
	doctor.Check{}, doctor.FamilyVerdict{}, doctorReport{}, ssoToken{},
	map[string]any{}, []any{}, map[string]string{}, []string{}, &protocol.Error{},
	struct {
		A *int    `json:"a"`
		B *string `json:"b,omitempty"`
		C float64 `json:"c"`
		D float32 `json:"d,omitempty"`
		E uint8   `json:"e"`
		F int8    `json:"f"`
		G [2]int  `json:"g"`
		H any     `json:"h"`
		I []*int  `json:"i"`
		J *struct{ X int }
		K map[string]*protocol.Error `json:"k,omitzero"`
		l int
		M int `json:"-"`
		N int `json:"-,"`
	}{},
}

// filler makes values of any type from the fuzzer's strings and numbers, so
// a field added to a wire type is fuzzed without touching this test.
type filler struct {
	strs  []string
	nums  []int64
	i     int
	depth int
}

func (f *filler) str() string { f.i++; return f.strs[f.i%len(f.strs)] }
func (f *filler) num() int64  { f.i++; return f.nums[f.i%len(f.nums)] }

func (f *filler) fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		sec, nsec, zone := f.num(), f.num(), f.num()
		t := time.Unix(sec%(1<<36), nsec%1e9)
		switch zone % 3 {
		case 0:
			t = t.UTC()
		case 1:
			t = t.In(time.FixedZone("", int(zone%(30*3600))))
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(f.str())
	case reflect.Bool:
		v.SetBool(f.num()%2 == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.num())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.num()))
	case reflect.Float32, reflect.Float64:
		n := f.num()
		v.SetFloat(float64(n) / float64(f.num()|1) * [4]float64{1, 1e-9, 1e22, 0.5}[uint64(n)%4])
	case reflect.Pointer:
		if f.num()%3 != 0 && f.depth < 3 {
			v.Set(reflect.New(v.Type().Elem()))
			f.depth++
			f.fill(v.Elem())
			f.depth--
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.Slice:
		n := int(uint64(f.num()) % 4)
		if n == 3 || f.depth >= 3 {
			return // nil
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		f.depth++
		for i := range n {
			f.fill(v.Index(i))
		}
		f.depth--
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		n := int(uint64(f.num()) % 4)
		if n == 3 || f.depth >= 3 {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		f.depth++
		for range n {
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e)
			v.SetMapIndex(reflect.ValueOf(f.str()).Convert(v.Type().Key()), e)
		}
		f.depth--
	case reflect.Interface:
		switch f.num() % 5 {
		case 1:
			v.Set(reflect.ValueOf(f.str()))
		case 2:
			v.Set(reflect.ValueOf(float64(f.num())))
		case 3:
			v.Set(reflect.ValueOf(f.num()%2 == 0))
		case 4:
			if f.depth < 3 {
				f.depth++
				v.Set(reflect.ValueOf(map[string]any{f.str(): []any{f.str(), nil}}))
				f.depth--
			}
		}
	}
}

// sameMarshal fails when jsonwire's Marshal or MarshalIndent differs from
// encoding/json's for v, in bytes or in failing.
func sameMarshal(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := jsonwire.Marshal(v)
	if (werr == nil) != (gerr == nil) || string(got) != string(want) {
		t.Fatalf("Marshal(%#v)\n got %s (err %v)\nwant %s (err %v)", v, got, gerr, want, werr)
	}
	want, werr = json.MarshalIndent(v, "", "  ")
	got, gerr = jsonwire.MarshalIndent(v, "", "  ")
	if (werr == nil) != (gerr == nil) || string(got) != string(want) {
		t.Fatalf("MarshalIndent(%#v)\n got %s (err %v)\nwant %s (err %v)", v, got, gerr, want, werr)
	}
	want, _ = json.MarshalIndent(v, "> ", "\t")
	got, _ = jsonwire.MarshalIndent(v, "> ", "\t")
	if string(got) != string(want) {
		t.Fatalf("MarshalIndent with prefix(%#v)\n got %s\nwant %s", v, got, want)
	}
}

// sameUnmarshal fails when jsonwire's Unmarshal of data into a new value of
// typ differs from encoding/json's: success, the kind of error (syntax with
// its offset, type with its field and JSON kind) and the value filled in.
func sameUnmarshal(t *testing.T, data []byte, typ reflect.Type) {
	t.Helper()
	shown := data
	if len(shown) > 200 {
		shown = append(shown[:200:200], "…"...)
	}
	wantV, gotV := reflect.New(typ), reflect.New(jsonwireType(typ))
	werr := json.Unmarshal(data, wantV.Interface())
	gerr := jsonwire.Unmarshal(data, gotV.Interface())
	var wse *json.SyntaxError
	var gse *jsonwire.SyntaxError
	var wte *json.UnmarshalTypeError
	var gte *jsonwire.UnmarshalTypeError
	switch {
	case werr == nil && gerr == nil:
	case errors.As(werr, &wse):
		if !errors.As(gerr, &gse) || gse.Offset != wse.Offset || gse.Error() != wse.Error() {
			t.Fatalf("Unmarshal(%q) into %v: got error %v (%T), want syntax error %q at %d", shown, typ, gerr, gerr, wse, wse.Offset)
		}
		return
	case errors.As(werr, &wte):
		if !errors.As(gerr, &gte) || gte.Value != wte.Value || gte.Field != wte.Field ||
			gte.Struct != wte.Struct || gte.Type != jsonwireType(wte.Type) {
			t.Fatalf("Unmarshal(%q) into %v: got error %#v, want type error %#v", shown, typ, gerr, werr)
		}
	case gerr == nil:
		t.Fatalf("Unmarshal(%q) into %v: got no error, want %v", shown, typ, werr)
	default:
		// An error of an UnmarshalJSON method (time.Time's): decoding
		// stopped in both.
		if errors.As(gerr, &gse) || errors.As(gerr, &gte) {
			t.Fatalf("Unmarshal(%q) into %v: got %v, want %v", shown, typ, gerr, werr)
		}
		return
	}
	if werr == nil && gerr != nil {
		t.Fatalf("Unmarshal(%q) into %v: got error %v, want none", shown, typ, gerr)
	}
	if w, g := comparable(wantV.Elem()), comparable(gotV.Elem()); !reflect.DeepEqual(w, g) {
		t.Fatalf("Unmarshal(%q) into %v:\n got %#v\nwant %#v", shown, typ, g, w)
	}
}

// comparable turns RawMessages of either package into strings.
func comparable(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case map[string]json.RawMessage:
		return rawStrings(x)
	case map[string]jsonwire.RawMessage:
		return rawStrings(x)
	}
	return v.Interface()
}

func rawStrings[R ~[]byte](m map[string]R) map[string]*string {
	if m == nil {
		return nil
	}
	out := map[string]*string{}
	for k, v := range m {
		if v == nil {
			out[k] = nil
			continue
		}
		s := string(v)
		out[k] = &s
	}
	return out
}

// unmarshalTargets: every wire type, and the shapes doctor reads another
// tool's output into.
func unmarshalTargets() []reflect.Type {
	var ts []reflect.Type
	for _, w := range wireTypes {
		ts = append(ts, reflect.TypeOf(w))
	}
	return append(ts, reflect.TypeFor[any](), reflect.TypeFor[map[string]json.RawMessage](),
		reflect.TypeFor[*protocol.ProcessOutput](), reflect.TypeFor[[]protocol.ProfileState](),
		reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[uint16](), reflect.TypeFor[string](),
		reflect.TypeFor[float32](), reflect.TypeFor[[]int](), reflect.TypeFor[*time.Time]())
}

// The jsonwire side of map[string]json.RawMessage.
func jsonwireType(t reflect.Type) reflect.Type {
	if t == reflect.TypeFor[map[string]json.RawMessage]() {
		return reflect.TypeFor[map[string]jsonwire.RawMessage]()
	}
	return t
}
