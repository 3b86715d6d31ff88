package elb

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// mutate applies fn to a copy of a load balancer and writes it in one
// transaction with the ports its listeners claim or free. An error of fn
// writes nothing.
func (s *Service) mutate(ctx context.Context, name string, fn func(*lbRecord) error) (lbRecord, error) {
	var out lbRecord
	err := store.Retry(ctx, func() error {
		it, err := s.balancer(ctx, name)
		if err != nil {
			return err
		}
		rec := clone(it.Value)
		if err := fn(&rec); err != nil {
			return err
		}
		txn := store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, rec)
		if err := s.claimPorts(ctx, txn, it.Value, rec); err != nil {
			return err
		}
		out = rec
		return s.store.Commit(ctx, txn)
	})
	return out, err
}

// claimPorts adds to txn the claims of the ports after has and before had
// not, and the release of those before had and after has not. The ports
// are one namespace with ELBv2's listeners (see elbv2.Service.PortKey): a
// port another load balancer of either kind holds is DuplicateListener.
func (s *Service) claimPorts(ctx context.Context, txn *store.Txn, before, after lbRecord) error {
	had, has := ports(before), ports(after)
	arn := s.arn(after.Name)
	for p := range has {
		if had[p] {
			continue
		}
		key := s.cfg.Ports.PortKey(p)
		holder, err := store.Get[string](ctx, s.store, key)
		if err == nil {
			return api.Errorf(codeDuplicateListener, "Port %d is already used by a listener of load balancer '%s'; every listener of this machine needs its own port", p, holder.Value)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		txn.IfAbsent(key).Put(key, arn)
	}
	for p := range had {
		if !has[p] {
			txn.Delete(s.cfg.Ports.PortKey(p))
		}
	}
	return nil
}

func ports(r lbRecord) map[int]bool {
	out := map[int]bool{}
	for _, l := range r.Listeners {
		out[l.LoadBalancerPort] = true
	}
	return out
}

// clone deep-copies a record through its JSON form.
func clone(r lbRecord) lbRecord {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var out lbRecord
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
