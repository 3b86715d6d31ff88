package elb

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

type SetLoadBalancerPoliciesOfListenerInput struct {
	LoadBalancerName string
	LoadBalancerPort int
	PolicyNames      []string
}

// SetLoadBalancerPoliciesOfListener replaces a listener's policies: at
// most one stickiness policy (HTTP and HTTPS listeners) and one SSL
// negotiation policy (HTTPS and SSL listeners); none removes them all.
func (s *Service) SetLoadBalancerPoliciesOfListener(ctx context.Context, in *SetLoadBalancerPoliciesOfListenerInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "SetLoadBalancerPoliciesOfListener", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if in.LoadBalancerPort == 0 {
		return nil, check.Null("loadBalancerPort")
	}
	_, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		i := slices.IndexFunc(r.Listeners, func(l Listener) bool { return l.LoadBalancerPort == in.LoadBalancerPort })
		if i < 0 {
			return listenerNotFound(r.Name, in.LoadBalancerPort)
		}
		l := r.Listeners[i]
		kinds := map[string]string{}
		for _, n := range in.PolicyNames {
			p, err := r.policy(n)
			if err != nil {
				return err
			}
			kind := p.Type
			switch p.Type {
			case typeLBCookie, typeAppCookie:
				if layer(l.Protocol) != "http" {
					return invalidConfig("Stickiness policy '%s' is only for HTTP and HTTPS listeners, not the %s listener on port %d", n, l.Protocol, l.LoadBalancerPort)
				}
				kind = "stickiness"
			case typeSSL:
				if !secure(l.Protocol) {
					return invalidConfig("SSL negotiation policy '%s' is only for HTTPS and SSL listeners, not the %s listener on port %d", n, l.Protocol, l.LoadBalancerPort)
				}
			default:
				return invalidConfig("Policy '%s' is of type %s, which is not for listeners: listeners take stickiness and SSL negotiation policies", n, p.Type)
			}
			if prev, ok := kinds[kind]; ok {
				return invalidConfig("Policies '%s' and '%s' are both %s policies: a listener takes one", prev, n, kind)
			}
			kinds[kind] = n
		}
		setPolicies(&r.ListenerPolicies, in.LoadBalancerPort, in.PolicyNames)
		return nil
	})
	return nil, err
}

type SetLoadBalancerPoliciesForBackendServerInput struct {
	LoadBalancerName string
	InstancePort     int
	PolicyNames      []string
}

// SetLoadBalancerPoliciesForBackendServer replaces the policies of an
// instance port: proxy protocol and back-end server authentication
// policies; none removes them all.
func (s *Service) SetLoadBalancerPoliciesForBackendServer(ctx context.Context, in *SetLoadBalancerPoliciesForBackendServerInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "SetLoadBalancerPoliciesForBackendServer", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if err := check.Range("instancePort", in.InstancePort, 1, 65535); err != nil {
		return nil, err
	}
	_, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		kinds := map[string]string{}
		for _, n := range in.PolicyNames {
			p, err := r.policy(n)
			if err != nil {
				return err
			}
			if p.Type != typeProxy && p.Type != typeBackendAuth {
				return invalidConfig("Policy '%s' is of type %s, which is not for instance ports: they take %s and %s policies", n, p.Type, typeProxy, typeBackendAuth)
			}
			if prev, ok := kinds[p.Type]; ok {
				return invalidConfig("Policies '%s' and '%s' are both of type %s: an instance port takes one", prev, n, p.Type)
			}
			kinds[p.Type] = n
		}
		setPolicies(&r.BackendPolicies, in.InstancePort, in.PolicyNames)
		return nil
	})
	return nil, err
}

// policy is r's policy of a name, or PolicyNotFound.
func (r lbRecord) policy(name string) (policyRecord, error) {
	i := slices.IndexFunc(r.Policies, func(p policyRecord) bool { return p.Name == name })
	if i < 0 {
		return policyRecord{}, api.Errorf(codePolicyNotFound, "There is no policy named '%s' on load balancer '%s'", name, r.Name)
	}
	return r.Policies[i], nil
}

// setPolicies sets the policies of a port, or forgets the port when none.
func setPolicies(m *map[int][]string, port int, names []string) {
	if len(names) == 0 {
		delete(*m, port)
		return
	}
	if *m == nil {
		*m = map[int][]string{}
	}
	(*m)[port] = slices.Clone(names)
}
