package iam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/iam/policy"
	"github.com/berth-dev/berth/internal/store"
)

// principalPolicies is a cache entry: the parsed identity policies of a
// user (its groups' included) or of a role, with the revisions of every
// record they were read from: the user's or role's own, its groups', and
// those of the customer managed policies attached to any of them. The
// entry is current while all those revisions are, which one keys-only read
// tells; so a policy put, an attachment, a membership or a new default
// policy version is seen by the very next request.
type principalPolicies struct {
	keys []string
	revs []int64 // 0 for a record that was absent
	arn  string
	tags []Tag
	docs []*policy.Document
}

func (pp *principalPolicies) depend(key string, rev int64) {
	pp.keys = append(pp.keys, key)
	pp.revs = append(pp.revs, rev)
}

type policyCache struct {
	mu sync.Mutex
	m  map[string]*principalPolicies // by entity key
}

func (c *policyCache) get(key string) *principalPolicies {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *policyCache) set(key string, pp *principalPolicies) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pp == nil {
		delete(c.m, key)
		return
	}
	if c.m == nil {
		c.m = map[string]*principalPolicies{}
	}
	c.m[key] = pp
}

// principalPolicies returns the current policies of a user or role, nil
// if it does not exist.
func (s *Service) principalPolicies(ctx context.Context, kind entityKind, name string) (*principalPolicies, error) {
	key := entityKey(kind, name)
	if cached := s.cache.get(key); cached != nil {
		revs, err := s.revisions(ctx, cached.keys)
		if err != nil {
			return nil, err
		}
		if slices.Equal(revs, cached.revs) {
			return cached, nil
		}
	}
	pp, err := s.loadPrincipalPolicies(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	s.cache.set(key, pp)
	return pp, nil
}

func (s *Service) loadPrincipalPolicies(ctx context.Context, kind entityKind, name string) (*principalPolicies, error) {
	it, err := s.getEntity(ctx, kind, name)
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pp := &principalPolicies{arn: it.Value.ARN, tags: it.Value.Tags}
	pp.depend(it.Key, it.Rev)
	records := []entity{it.Value}
	for _, g := range it.Value.Groups {
		gi, err := s.getEntity(ctx, kindGroup, g)
		switch {
		case isNoSuchEntity(err):
			pp.depend(entityKey(kindGroup, g), 0)
		case err != nil:
			return nil, err
		default:
			pp.depend(gi.Key, gi.Rev)
			records = append(records, gi.Value)
		}
	}
	seen := map[string]bool{}
	for _, e := range records {
		for _, name := range slices.Sorted(maps.Keys(e.Inline)) {
			if d, err := policy.Parse(e.Inline[name]); err == nil {
				pp.docs = append(pp.docs, d)
			}
		}
		for _, arn := range e.Attached {
			if seen[arn] {
				continue
			}
			seen[arn] = true
			mp, err := s.loadPolicy(ctx, arn)
			if isNoSuchEntity(err) {
				if key, ok := s.policyKey(arn); ok {
					pp.depend(key, 0) // deleted meanwhile: grants nothing until recreated
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if mp.Rev != 0 {
				pp.depend(mp.Key, mp.Rev)
			}
			if d, err := policy.Parse(mp.Value.Document); err == nil {
				pp.docs = append(pp.docs, d)
			}
		}
	}
	return pp, nil
}

// revisions reads the current modification revision of each key (0 for
// an absent one) in as few round trips as the store's transaction size
// allows: one, for any principal within IAM's quotas.
func (s *Service) revisions(ctx context.Context, keys []string) ([]int64, error) {
	revs, err := s.store.Revisions(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read policy revisions: %w", err)
	}
	return revs, nil
}

// withTagKeys returns keys plus prefix+key → value for each tag.
func withTagKeys(keys map[string][]string, prefix string, tags []Tag) map[string][]string {
	if len(tags) == 0 {
		return keys
	}
	out := make(map[string][]string, len(keys)+len(tags))
	for k, v := range keys {
		out[k] = v
	}
	for _, t := range tags {
		out[prefix+t.Key] = []string{t.Value}
	}
	return out
}

// policyKey is the store key of a customer managed policy's ARN.
func (s *Service) policyKey(arn string) (string, bool) {
	if !strings.HasPrefix(arn, "arn:aws:iam::"+s.account+":policy/") {
		return "", false
	}
	return policiesPrefix + strings.ToLower(lastSegment(arn)), true
}

// sessionExtras is what a role session adds to its role: managed session
// policies, session tags, and what a chained session inherits. Sessions
// never change, so an entry stays valid until the session expires.
type sessionExtras struct {
	expires        time.Time
	docs           []*policy.Document
	tags           []Tag
	transitive     []Tag
	sourceIdentity string
}

func newSessionExtras(ss session) *sessionExtras {
	x := &sessionExtras{expires: ss.Expiration, tags: ss.Tags, sourceIdentity: ss.SourceIdentity}
	for _, text := range ss.PolicyDocs {
		if d, err := policy.Parse(text); err == nil {
			x.docs = append(x.docs, d)
		} else {
			// Valid when issued; one that no longer parses must still
			// cap the session, so it allows nothing.
			x.docs = append(x.docs, &policy.Document{})
		}
	}
	for _, t := range ss.Tags {
		if slices.ContainsFunc(ss.TransitiveTagKeys, func(k string) bool { return strings.EqualFold(k, t.Key) }) {
			x.transitive = append(x.transitive, t)
		}
	}
	return x
}

// maxCachedSessions bounds the sessions whose extras are kept; beyond it
// the one expiring first is dropped (and read again if it is used).
const maxCachedSessions = 1 << 16

// sessionExtras returns what the session with access key id adds to its
// role; nil for a session that no longer exists.
func (s *Service) sessionExtras(ctx context.Context, id string) (*sessionExtras, error) {
	if x, ok := s.sessions.get(id, s.now()); ok {
		return x, nil
	}
	it, err := store.Get[session](ctx, s.store, sessionsPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	x := newSessionExtras(it.Value)
	s.sessions.put(id, x, x.expires, s.now())
	return x, nil
}

// overrideTags returns base with over's tags replacing those of the same
// key regardless of case: session tags override the role's.
func overrideTags(base, over []Tag) []Tag {
	if len(over) == 0 {
		return base
	}
	out := slices.DeleteFunc(slices.Clone(base), func(t Tag) bool {
		return slices.ContainsFunc(over, func(o Tag) bool { return strings.EqualFold(o.Key, t.Key) })
	})
	return append(out, over...)
}
