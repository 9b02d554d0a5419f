package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/99designs/keyring"
	"github.com/godbus/dbus"
	"github.com/gsterjov/go-libsecret"
)

// busSecrets is the Secret Service backend on a D-Bus connection of its own
// that it dials again after losing it. The keyring package's backend uses
// godbus's shared session connection, which stays closed for good once the
// bus goes away (a desktop session restarted, a dbus-daemon killed): credd
// would then need a restart to reach the keyring again. Items are stored
// exactly as that backend stores them (label and "profile" attribute = the
// item key, secret = the JSON of a keyring.Item), so either reads the other's.
type busSecrets struct {
	collection string

	mu   sync.Mutex
	conn *dbus.Conn // nil until dialed, and after a failure that lost it
}

const secretsPath = dbus.ObjectPath(libsecret.DBusPath)

func openBusSecrets(collection string) (*busSecrets, error) {
	k := &busSecrets{collection: collection}
	_, err := k.dial()
	return k, err
}

func (k *busSecrets) dial() (*dbus.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn != nil {
		return k.conn, nil
	}
	conn, err := dbus.SessionBusPrivate()
	if err == nil {
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBusLost, err)
	}
	k.conn = conn
	return conn, nil
}

// drop forgets conn when err says it is lost, so the next call dials again.
func (k *busSecrets) drop(conn *dbus.Conn, err error) error {
	if errors.Is(err, dbus.ErrClosed) {
		k.abandon(conn)
		return fmt.Errorf("%w: %v", errBusLost, err)
	}
	return err
}

// abandon closes conn: a call blocked on it (a keyring daemon that stopped
// answering) returns, and the next call dials again.
func (k *busSecrets) abandon(conn *dbus.Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if conn == nil {
		conn = k.conn
	}
	if conn != nil && k.conn == conn {
		k.conn = nil
		conn.Close()
	}
}

// Abandon is called by KeyringStore.call when a call times out.
func (k *busSecrets) Abandon() { k.abandon(nil) }

// session opens a plain session and finds the collection (nil when absent).
func (k *busSecrets) session(conn *dbus.Conn) (*libsecret.Session, *libsecret.Collection, error) {
	svc := conn.Object(libsecret.DBusServiceName, secretsPath)
	var out dbus.Variant
	var path dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &path); err != nil {
		return nil, nil, err
	}
	v, err := svc.GetProperty("org.freedesktop.Secret.Service.Collections")
	if err != nil {
		return nil, nil, err
	}
	paths, _ := v.Value().([]dbus.ObjectPath)
	want := libsecret.DBusPath + "/collection/" + k.collection
	for _, p := range paths {
		if unescapeBusPath(string(p)) == want {
			return libsecret.NewSession(conn, path), libsecret.NewCollection(conn, p), nil
		}
	}
	return libsecret.NewSession(conn, path), nil, nil
}

// unescapeBusPath undoes the Secret Service's "_XX" escaping of a path.
func unescapeBusPath(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &c); err == nil {
				b = append(b, c)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

// unlock unlocks obj, showing the desktop's prompt if the service asks.
func (k *busSecrets) unlock(conn *dbus.Conn, obj dbus.ObjectPath) error {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := conn.Object(libsecret.DBusServiceName, secretsPath).Call("org.freedesktop.Secret.Service.Unlock", 0,
		[]dbus.ObjectPath{obj}).Store(&unlocked, &prompt)
	if err != nil || prompt == "/" || prompt == "" {
		return err
	}
	signals := make(chan *dbus.Signal, 10)
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)
	if err := conn.Object(libsecret.DBusServiceName, prompt).Call("org.freedesktop.Secret.Prompt.Prompt", 0, "").Store(); err != nil {
		return err
	}
	for s := range signals { // closed when the connection is lost
		if s.Path == prompt && s.Name == "org.freedesktop.Secret.Prompt.Completed" {
			return nil // dismissed or not, what follows tells
		}
	}
	return dbus.ErrClosed
}

// open is what every call starts with: the connection, a session and the
// collection, unlocked.
func (k *busSecrets) open() (*dbus.Conn, *libsecret.Session, *libsecret.Collection, error) {
	conn, err := k.dial()
	if err != nil {
		return nil, nil, nil, err
	}
	sess, coll, err := k.session(conn)
	if err == nil && coll != nil {
		var locked bool
		if locked, err = coll.Locked(); err == nil && locked {
			err = k.unlock(conn, coll.Path())
		}
	}
	return conn, sess, coll, k.drop(conn, err)
}

func (k *busSecrets) find(coll *libsecret.Collection, key string) (*libsecret.Item, error) {
	items, err := coll.SearchItems(key)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return &items[0], nil
}

func (k *busSecrets) Get(key string) (keyring.Item, error) {
	conn, sess, coll, err := k.open()
	if err != nil {
		return keyring.Item{}, err
	}
	if coll == nil {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	it, err := k.find(coll, key)
	if err != nil || it == nil {
		if err == nil {
			err = keyring.ErrKeyNotFound
		}
		return keyring.Item{}, k.drop(conn, err)
	}
	if locked, err := it.Locked(); err != nil {
		return keyring.Item{}, k.drop(conn, err)
	} else if locked {
		if err := k.unlock(conn, it.Path()); err != nil {
			return keyring.Item{}, k.drop(conn, err)
		}
	}
	secret, err := it.GetSecret(sess)
	if err != nil {
		return keyring.Item{}, k.drop(conn, err)
	}
	var item keyring.Item
	err = json.Unmarshal(secret.Value, &item)
	return item, err
}

func (k *busSecrets) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNeedsCredentials
}

func (k *busSecrets) Set(item keyring.Item) error {
	conn, sess, coll, err := k.open()
	if err != nil {
		return err
	}
	if coll == nil {
		return fmt.Errorf("the secret service has no collection %q", k.collection)
	}
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	_, err = coll.CreateItem(item.Key, libsecret.NewSecret(sess, []byte{}, data, "application/json"), true)
	return k.drop(conn, err)
}

func (k *busSecrets) Remove(key string) error {
	conn, _, coll, err := k.open()
	if err != nil {
		return err
	}
	if coll == nil {
		return keyring.ErrKeyNotFound
	}
	it, err := k.find(coll, key)
	if err != nil || it == nil {
		return k.drop(conn, err)
	}
	return k.drop(conn, it.Delete())
}

func (k *busSecrets) Keys() ([]string, error) {
	conn, _, coll, err := k.open()
	if err != nil || coll == nil {
		return []string{}, err
	}
	items, err := coll.Items()
	if err != nil {
		return nil, k.drop(conn, err)
	}
	keys := []string{}
	for _, it := range items {
		if label, err := it.Label(); err == nil {
			keys = append(keys, label)
		}
	}
	return keys, nil
}
