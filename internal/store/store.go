// Package store keeps Berth's control-plane state in etcd as typed JSON records
// with optimistic concurrency on revisions.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// ErrNotFound is returned when a key does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a conditional write lost a race; callers retry
// from a fresh read.
var ErrConflict = errors.New("store: revision conflict")

// Config chooses between an embedded etcd member and an external cluster.
type Config struct {
	// DataDir holds the embedded member's data; unused with Endpoints.
	DataDir string
	// Endpoints of an external etcd cluster; empty means embedded.
	Endpoints []string
	// ClientURL, when set, also serves the embedded member to other
	// processes (e.g. http://127.0.0.1:2379), so several servers can share it.
	ClientURL string
	// TLS secures the connection to Endpoints (client certificate and the
	// CA that signed the servers' certificates) or, for an embedded member
	// served on an https ClientURL, the member's own certificate and the CA
	// its clients' certificates must be signed by.
	TLS TLSFiles
	// Username and Password authenticate to Endpoints when etcd
	// authentication is on. For an embedded member served on ClientURL, a
	// Password turns authentication on at the first start, for user root.
	Username, Password string
	// CompactionRetention is how much history the embedded member keeps:
	// it compacts older revisions periodically (default 10 minutes).
	CompactionRetention time.Duration
	// Logger receives the store's own messages.
	Logger *slog.Logger
}

// TLSFiles names PEM files for etcd connections; all empty means plain.
type TLSFiles struct {
	CertFile, KeyFile, CAFile string
}

func (f TLSFiles) empty() bool { return f == TLSFiles{} }

func (f TLSFiles) info() transport.TLSInfo {
	return transport.TLSInfo{CertFile: f.CertFile, KeyFile: f.KeyFile, TrustedCAFile: f.CAFile}
}

// DefaultCompactionRetention is the history the embedded member keeps.
const DefaultCompactionRetention = 10 * time.Minute

// Store is a typed view of etcd. It is safe for concurrent use.
type Store struct {
	cli      *clientv3.Client
	embedded *embed.Etcd
	log      *slog.Logger
	// endpoint is the external member whose status maintenance reads.
	endpoint string
}

// Open connects to the configured etcd, starting an embedded member when no
// endpoints are given, and returns when it is ready.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Endpoints) > 0 {
		return openExternal(ctx, cfg)
	}
	return openEmbedded(ctx, cfg)
}

func openExternal(ctx context.Context, cfg Config) (*Store, error) {
	cc := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: 5 * time.Second,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      zap.NewNop(),
		Context:     ctx,
	}
	if !cfg.TLS.empty() {
		tc, err := cfg.TLS.info().ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A read, not Status: it fails as well when the user may not read.
	if _, err := cli.Get(sctx, "/berth/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %s does not answer: %w", cfg.Endpoints[0], err)
	}
	return &Store{cli: cli, log: cfg.Logger, endpoint: cfg.Endpoints[0]}, nil
}

func openEmbedded(ctx context.Context, cfg Config) (*Store, error) {
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd data dir: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = "berth"
	ec.Dir = dir
	// Unix sockets keep the embedded member private to this process and free
	// of port clashes; the server talks to it in-process.
	client := mustURL("unix://" + filepath.Join(dir, "client.sock") + ":0")
	peer := mustURL("unix://" + filepath.Join(dir, "peer.sock") + ":0")
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	if cfg.ClientURL != "" {
		u, err := url.Parse(cfg.ClientURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("etcd client URL %q: want scheme://host:port", cfg.ClientURL)
		}
		ec.ListenClientUrls = append(ec.ListenClientUrls, *u)
		ec.AdvertiseClientUrls = append(ec.AdvertiseClientUrls, *u)
		if u.Scheme == "https" {
			if cfg.TLS.CertFile == "" || cfg.TLS.KeyFile == "" {
				return nil, fmt.Errorf("etcd client URL %s needs a certificate and key", cfg.ClientURL)
			}
			ec.ClientTLSInfo = cfg.TLS.info()
			// With a CA, only clients holding a certificate it signed
			// may connect; etcd takes their user name from its CN.
			ec.ClientTLSInfo.ClientCertAuth = cfg.TLS.CAFile != ""
		} else if !cfg.TLS.empty() {
			return nil, fmt.Errorf("etcd client URL %s: TLS files need an https URL", cfg.ClientURL)
		}
	} else if !cfg.TLS.empty() || cfg.Password != "" {
		return nil, errors.New("etcd TLS and authentication apply to a served (client URL) or external etcd")
	}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Room for placements grouped into one transaction (see MaxTxnOps).
	ec.MaxTxnOps = embeddedMaxTxnOps
	ec.MaxRequestBytes = 8 << 20
	// Keep only recent history: without compaction every revision stays
	// and the member stops all writes at its quota (NOSPACE).
	retention := cfg.CompactionRetention
	if retention <= 0 {
		retention = DefaultCompactionRetention
	}
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = retention.String()
	ec.LogLevel = "panic"
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("embedded etcd did not become ready in 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	st := &Store{cli: v3client.New(e.Server), embedded: e, log: cfg.Logger}
	if cfg.Password != "" {
		if err := st.enableAuth(ctx, cfg.Password); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// enableAuth turns etcd authentication on with user root, unless it is on
// already (the password is set at the first start only).
func (s *Store) enableAuth(ctx context.Context, password string) error {
	if s.embedded.Server.AuthStore().IsAuthEnabled() {
		return nil
	}
	if _, err := s.cli.UserAdd(ctx, "root", password); err != nil && !errors.Is(err, rpctypes.ErrUserAlreadyExist) {
		return fmt.Errorf("etcd: add user root: %w", err)
	}
	if _, err := s.cli.UserChangePassword(ctx, "root", password); err != nil {
		return fmt.Errorf("etcd: set root's password: %w", err)
	}
	if _, err := s.cli.UserGrantRole(ctx, "root", "root"); err != nil {
		return fmt.Errorf("etcd: grant role root: %w", err)
	}
	if _, err := s.cli.AuthEnable(ctx); err != nil {
		return fmt.Errorf("etcd: enable authentication: %w", err)
	}
	return nil
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

// defaultMaxTxnOps is etcd's default --max-txn-ops; embeddedMaxTxnOps is
// what the embedded member allows.
const (
	defaultMaxTxnOps  = 128
	embeddedMaxTxnOps = 512
)

// MaxTxnOps is how many operations (and, separately, comparisons) one
// transaction may carry: the embedded member's setting, or etcd's default
// for an external cluster, whose setting cannot be read.
func (s *Store) MaxTxnOps() int {
	if s.embedded != nil {
		return embeddedMaxTxnOps
	}
	return defaultMaxTxnOps
}

// Client exposes the raw etcd client for leases, elections and watches.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Done is closed once the store is closed: background loops that retry
// their reads stop then.
func (s *Store) Done() <-chan struct{} { return s.cli.Ctx().Done() }

// Close releases the client and stops an embedded member.
func (s *Store) Close() error {
	err := s.cli.Close()
	if s.embedded != nil {
		s.embedded.Close()
	}
	return err
}

// Item is a decoded record with the revision it was last modified at.
type Item[T any] struct {
	Key   string
	Value T
	Rev   int64
}

// Get decodes the record at key. It returns ErrNotFound when absent.
func Get[T any](ctx context.Context, s *Store, key string) (Item[T], error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return Item[T]{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Item[T]{}, ErrNotFound
	}
	var it Item[T]
	it.Key, it.Rev = key, resp.Kvs[0].ModRevision
	if err := json.Unmarshal(resp.Kvs[0].Value, &it.Value); err != nil {
		return Item[T]{}, fmt.Errorf("decode %s: %w", key, err)
	}
	return it, nil
}

// GetMany decodes the records at keys, in their order, leaving out the
// absent ones. It reads them in one request (or one per MaxTxnOps keys),
// each at a single revision, rather than one request per key.
func GetMany[T any](ctx context.Context, s *Store, keys []string) ([]Item[T], error) {
	out := make([]Item[T], 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), s.MaxTxnOps())
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k)
		}
		resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("get %s and %d more: %w", keys[0], n-1, err)
		}
		for i, r := range resp.Responses {
			rr := r.GetResponseRange()
			if rr == nil || len(rr.Kvs) == 0 {
				continue
			}
			it := Item[T]{Key: keys[i], Rev: rr.Kvs[0].ModRevision}
			if err := json.Unmarshal(rr.Kvs[0].Value, &it.Value); err != nil {
				return nil, fmt.Errorf("decode %s: %w", keys[i], err)
			}
			out = append(out, it)
		}
		keys = keys[n:]
	}
	return out, nil
}

// List decodes every record under prefix, in key order.
func List[T any](ctx context.Context, s *Store, prefix string) ([]Item[T], error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return decodeAll[T](resp.Kvs)
}

func decodeAll[T any](kvs []*mvccpb.KeyValue) ([]Item[T], error) {
	out := make([]Item[T], 0, len(kvs))
	for _, kv := range kvs {
		it := Item[T]{Key: string(kv.Key), Rev: kv.ModRevision}
		if err := json.Unmarshal(kv.Value, &it.Value); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// Keys lists the keys under prefix without their values.
func (s *Store) Keys(ctx context.Context, prefix string) ([]string, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("list keys %s: %w", prefix, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	return keys, nil
}

// Put writes v at key unconditionally.
func Put[T any](ctx context.Context, s *Store, key string, v T) error {
	return s.Commit(ctx, NewTxn().Put(key, v))
}

// Update applies fn to the record at key and writes it back if nobody changed
// it meanwhile, retrying on conflicts under DefaultRetry. fn may return an
// error to abort.
func Update[T any](ctx context.Context, s *Store, key string, fn func(*T) error) (T, error) {
	var out T
	err := DefaultRetry.Do(ctx, func() error {
		it, err := Get[T](ctx, s, key)
		if err != nil {
			return err
		}
		if err := fn(&it.Value); err != nil {
			return err
		}
		if err := s.Commit(ctx, NewTxn().IfRev(key, it.Rev).Put(key, it.Value)); err != nil {
			return err
		}
		out = it.Value
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
