package elbv2

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// errDelete, returned by a mutate function, deletes the load balancer.
var errDelete = errors.New("delete the load balancer")

// mutate applies fn to a load balancer (its listeners and rules) and
// writes it in one transaction with what the change touches: the ports its
// listeners claim or free, and the target groups it starts or stops
// forwarding to (each records the load balancers that use it). A port
// held by another listener is DuplicateListener; a target group that does
// not fit is refused; nothing is written then.
func (s *Service) mutate(ctx context.Context, arn string, fn func(*lbRecord) error) error {
	return store.Retry(ctx, func() error {
		it, err := s.balancer(ctx, arn)
		if err != nil {
			return err
		}
		rec := clone(it.Value)
		err = fn(&rec)
		deleting := errors.Is(err, errDelete)
		if err != nil && !deleting {
			return err
		}
		txn := store.NewTxn().IfRev(it.Key, it.Rev)
		if deleting {
			txn.Delete(it.Key)
			rec.Listeners = nil
		} else {
			txn.Put(it.Key, rec)
		}
		// Ports: every listener of the machine has its own.
		oldPorts, newPorts := ports(it.Value), ports(rec)
		for p := range newPorts {
			if oldPorts[p] {
				continue
			}
			holder, err := store.Get[string](ctx, s.store, s.keys.port(p))
			if err == nil {
				return api.Errorf(codeDuplicateListener, "A listener already exists on port %d (load balancer '%s'); every listener of this machine needs its own port", p, holder.Value)
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			txn.IfAbsent(s.keys.port(p)).Put(s.keys.port(p), rec.ARN)
		}
		for p := range oldPorts {
			if !newPorts[p] {
				txn.Delete(s.keys.port(p))
			}
		}
		// Target groups: those forwarded to before or after.
		oldTGs, newTGs := groupRefs(it.Value), groupRefs(rec)
		all := map[string]bool{}
		for g := range oldTGs {
			all[g] = true
		}
		for g := range newTGs {
			all[g] = true
		}
		for tgARN := range all {
			tg, err := s.targetGroup(ctx, tgARN)
			if err != nil {
				if newTGs[tgARN] {
					return err
				}
				continue // gone meanwhile: nothing to unlink
			}
			g := &tg.Value
			used := slices.Contains(g.LoadBalancers, rec.ARN)
			if newTGs[tgARN] {
				if err := fits(rec, *g); err != nil {
					return err
				}
				if err := listenersFit(rec, *g); err != nil {
					return err
				}
				if !used {
					g.LoadBalancers = append(g.LoadBalancers, rec.ARN)
				}
			} else if used {
				g.LoadBalancers = slices.DeleteFunc(g.LoadBalancers, func(a string) bool { return a == rec.ARN })
			}
			txn.IfRev(tg.Key, tg.Rev).Put(tg.Key, *g)
		}
		return s.store.Commit(ctx, txn)
	})
}

// fits refuses a target group a load balancer cannot forward to.
func fits(lb lbRecord, g tgRecord) error {
	if g.VpcID != lb.VpcID {
		return validation("The target group '%s' is in VPC '%s', not in the load balancer's VPC '%s'", g.ARN, g.VpcID, lb.VpcID)
	}
	for _, other := range g.LoadBalancers {
		if other != lb.ARN {
			return api.Errorf(codeAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", g.ARN)
		}
	}
	if (lb.Type == typeApplication) != webCheck(g.Protocol) {
		return api.Errorf(codeIncompatible, "The target group '%s' has protocol %s, which a load balancer of type %s cannot forward to", g.ARN, g.Protocol, lb.Type)
	}
	return nil
}

// groupProtocols are the target group protocols a network listener of
// each protocol forwards to, as AWS allows.
var groupProtocols = map[string][]string{"TCP": {"TCP", "TCP_UDP"}, "TLS": {"TCP", "TLS"}, "UDP": {"UDP", "TCP_UDP"}, "TCP_UDP": {"TCP_UDP"}}

// listenersFit refuses a target group that a network listener forwarding
// to it cannot carry (a TCP group behind a UDP listener, say).
func listenersFit(lb lbRecord, g tgRecord) error {
	for _, l := range lb.Listeners {
		want, ok := groupProtocols[l.Protocol]
		if !ok || slices.Contains(want, g.Protocol) {
			continue
		}
		var acts []Action
		acts = append(acts, l.DefaultActions...)
		for _, r := range l.Rules {
			acts = append(acts, r.Actions...)
		}
		for _, a := range acts {
			if a.ForwardConfig != nil && slices.ContainsFunc(a.ForwardConfig.TargetGroups, func(t TargetGroupTuple) bool { return t.TargetGroupArn == g.ARN }) {
				return api.Errorf(codeIncompatible, "The listener's protocol %s is not compatible with the protocol %s of target group '%s'", l.Protocol, g.Protocol, g.ARN)
			}
		}
	}
	return nil
}

// ports are the ports of a load balancer's listeners.
func ports(r lbRecord) map[int]bool {
	out := map[int]bool{}
	for _, l := range r.Listeners {
		out[l.Port] = true
	}
	return out
}

// groupRefs are the target groups a load balancer's actions forward to.
func groupRefs(r lbRecord) map[string]bool {
	out := map[string]bool{}
	add := func(acts []Action) {
		for _, a := range acts {
			if a.ForwardConfig != nil {
				for _, t := range a.ForwardConfig.TargetGroups {
					out[t.TargetGroupArn] = true
				}
			}
		}
	}
	for _, l := range r.Listeners {
		add(l.DefaultActions)
		for _, rule := range l.Rules {
			add(rule.Actions)
		}
	}
	return out
}

// clone deep-copies a record through its JSON form.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// codeOf is an error's AWS code, or "".
func codeOf(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
