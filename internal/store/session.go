package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Lease is an etcd lease: keys written under it (Txn.PutLeased) go when it
// expires or is revoked.
type Lease int64

// Grant creates a lease that expires after ttl (rounded down to whole
// seconds, at least one) unless kept alive.
func (s *Store) Grant(ctx context.Context, ttl time.Duration) (Lease, error) {
	resp, err := s.cli.Grant(ctx, max(1, int64(ttl/time.Second)))
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	return Lease(resp.ID), nil
}

// Revoke ends lease now, deleting the keys written under it.
func (s *Store) Revoke(ctx context.Context, lease Lease) error {
	if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
		return fmt.Errorf("revoke lease: %w", err)
	}
	return nil
}

// Session is a lease kept alive for as long as its process runs and
// reaches etcd: keys written under it (Txn.PutLeased with Lease) and an
// election won with it end with the session.
type Session struct {
	s *concurrency.Session
}

// NewSession starts a session whose lease lasts ttl (at least a second)
// after the last keep-alive; it ends when ctx does or Close is called.
func (s *Store) NewSession(ctx context.Context, ttl time.Duration) (*Session, error) {
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(max(1, int(ttl/time.Second))), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	return &Session{s: sess}, nil
}

// Lease is the session's lease.
func (ss *Session) Lease() Lease { return Lease(ss.s.Lease()) }

// Done is closed when the session's lease can no longer be kept alive.
func (ss *Session) Done() <-chan struct{} { return ss.s.Done() }

// Close ends the session and revokes its lease.
func (ss *Session) Close() error { return ss.s.Close() }

// Election is a leader election among the sessions that campaign under
// one prefix: one at a time leads, until its session ends or it resigns.
type Election struct {
	e *concurrency.Election
}

// NewElection joins the election under prefix with session ss.
func (ss *Session) NewElection(prefix string) *Election {
	return &Election{e: concurrency.NewElection(ss.s, prefix)}
}

// Campaign blocks until this session leads, announcing value, or ctx ends.
func (e *Election) Campaign(ctx context.Context, value string) error {
	return e.e.Campaign(ctx, value)
}

// Resign gives up leadership, letting the next campaigner lead.
func (e *Election) Resign(ctx context.Context) error { return e.e.Resign(ctx) }

// Key and Rev identify the leader's key while this session leads: with
// WithFence they make writes conditional on still leading.
func (e *Election) Key() string { return e.e.Key() }

// Rev is the revision the leader's key was created at.
func (e *Election) Rev() int64 { return e.e.Rev() }

// Leader is the value the current leader announced; ErrNotFound when none
// leads.
func (e *Election) Leader(ctx context.Context) (string, error) {
	resp, err := e.e.Leader(ctx)
	if err == concurrency.ErrElectionNoLeader {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("election leader: %w", err)
	}
	return string(resp.Kvs[0].Value), nil
}
