package elb

import (
	"context"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/api"
)

// Listener is a listener: a port of the load balancer and the instances'
// port it forwards to.
type Listener struct {
	Protocol         string
	LoadBalancerPort int
	InstanceProtocol string
	InstancePort     int
	SSLCertificateId string `xml:",omitempty"`
}

// checkListeners validates listeners and gives them AWS's defaults: an
// instance protocol of the listener's layer, protocols in upper case.
func checkListeners(ls []Listener) ([]Listener, error) {
	out := make([]Listener, 0, len(ls))
	seen := map[int]bool{}
	for i, l := range ls {
		l.Protocol, l.InstanceProtocol = strings.ToUpper(l.Protocol), strings.ToUpper(l.InstanceProtocol)
		if l.Protocol == "" {
			return nil, check.Null("listeners." + itoa(i+1) + ".member.protocol")
		}
		if l.InstanceProtocol == "" {
			l.InstanceProtocol = l.Protocol
		}
		for _, p := range []string{l.Protocol, l.InstanceProtocol} {
			switch p {
			case "HTTP", "TCP":
			case "HTTPS", "SSL":
				return nil, api.Errorf(codeUnsupported, "Protocol %s needs a certificate, and certificates are not supported on Classic listeners yet: use HTTP or TCP", p)
			default:
				return nil, api.Errorf(codeUnsupported, "Protocol %s is not supported: use HTTP, HTTPS, TCP or SSL", p)
			}
		}
		if l.Protocol != l.InstanceProtocol {
			return nil, invalidConfig("Listener protocol '%s' and instance protocol '%s' are not compatible: both must be HTTP or both TCP", l.Protocol, l.InstanceProtocol)
		}
		if l.SSLCertificateId != "" {
			return nil, invalidConfig("An SSLCertificateId is only for HTTPS and SSL listeners, which are not supported on Classic listeners yet")
		}
		if p := l.LoadBalancerPort; !(p == 25 || p == 80 || p == 443 || p == 465 || p == 587 || (p >= 1024 && p <= 65535)) {
			return nil, validation("LoadBalancerPort %d is not valid: it must be 25, 80, 443, 465, 587 or from 1024 to 65535", p)
		}
		if err := check.Range("listeners."+itoa(i+1)+".member.instancePort", l.InstancePort, 1, 65535); err != nil {
			return nil, err
		}
		if seen[l.LoadBalancerPort] {
			return nil, api.Errorf(codeDuplicateListener, "More than one listener was given for LoadBalancerPort %d", l.LoadBalancerPort)
		}
		seen[l.LoadBalancerPort] = true
		out = append(out, l)
	}
	return out, nil
}

type CreateLoadBalancerListenersInput struct {
	LoadBalancerName string
	Listeners        []Listener
}

// CreateLoadBalancerListeners adds listeners. One the load balancer has
// already on the port is no change when it is the same, and
// DuplicateListener when it differs.
func (s *Service) CreateLoadBalancerListeners(ctx context.Context, in *CreateLoadBalancerListenersInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "CreateLoadBalancerListeners", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.Listeners) == 0 {
		return nil, check.Null("listeners")
	}
	ls, err := checkListeners(in.Listeners)
	if err != nil {
		return nil, err
	}
	cur, err := s.balancer(ctx, in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if !slices.ContainsFunc(cur.Value.Listeners, func(o Listener) bool { return o.LoadBalancerPort == l.LoadBalancerPort }) {
			if err := s.cfg.Ports.ProbePort(ctx, l.LoadBalancerPort); err != nil {
				return nil, err
			}
		}
	}
	_, err = s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		for _, l := range ls {
			i := slices.IndexFunc(r.Listeners, func(o Listener) bool { return o.LoadBalancerPort == l.LoadBalancerPort })
			switch {
			case i >= 0 && r.Listeners[i] == l:
			case i >= 0:
				return api.Errorf(codeDuplicateListener, "A listener already exists for %s with LoadBalancerPort %d, but with a different InstancePort, Protocol, or SSLCertificateId", r.Name, l.LoadBalancerPort)
			default:
				r.Listeners = append(r.Listeners, l)
			}
		}
		if len(r.Listeners) > maxListeners {
			return invalidConfig("A load balancer can have at most %d listeners", maxListeners)
		}
		return nil
	})
	return nil, err
}

type DeleteLoadBalancerListenersInput struct {
	LoadBalancerName  string
	LoadBalancerPorts []int
}

// DeleteLoadBalancerListeners removes the listeners of ports; a port
// without one is no error.
func (s *Service) DeleteLoadBalancerListeners(ctx context.Context, in *DeleteLoadBalancerListenersInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "DeleteLoadBalancerListeners", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.LoadBalancerPorts) == 0 {
		return nil, check.Null("loadBalancerPorts")
	}
	_, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		r.Listeners = slices.DeleteFunc(r.Listeners, func(l Listener) bool { return slices.Contains(in.LoadBalancerPorts, l.LoadBalancerPort) })
		return nil
	})
	return nil, err
}
