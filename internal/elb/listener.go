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

// secure reports whether a listener or instance protocol is TLS.
func secure(protocol string) bool { return protocol == "HTTPS" || protocol == "SSL" }

// layer is a protocol's layer: HTTP and HTTPS are "http", TCP and SSL "tcp".
func layer(protocol string) string {
	if protocol == "HTTP" || protocol == "HTTPS" {
		return "http"
	}
	return "tcp"
}

// checkListeners validates listeners and gives them AWS's defaults: an
// instance protocol of the listener's layer (HTTP for HTTPS, TCP for
// SSL: TLS to the instances is asked for), protocols in upper case.
func checkListeners(ls []Listener) ([]Listener, error) {
	out := make([]Listener, 0, len(ls))
	seen := map[int]bool{}
	for i, l := range ls {
		l.Protocol, l.InstanceProtocol = strings.ToUpper(l.Protocol), strings.ToUpper(l.InstanceProtocol)
		if l.Protocol == "" {
			return nil, check.Null("listeners." + itoa(i+1) + ".member.protocol")
		}
		if l.InstanceProtocol == "" {
			l.InstanceProtocol = map[string]string{"HTTPS": "HTTP", "SSL": "TCP"}[l.Protocol]
			l.InstanceProtocol = cmpOr(l.InstanceProtocol, l.Protocol)
		}
		for _, p := range []string{l.Protocol, l.InstanceProtocol} {
			switch p {
			case "HTTP", "TCP", "HTTPS", "SSL":
			default:
				return nil, api.Errorf(codeUnsupported, "Protocol %s is not supported: use HTTP, HTTPS, TCP or SSL", p)
			}
		}
		if layer(l.Protocol) != layer(l.InstanceProtocol) {
			return nil, invalidConfig("Listener protocol '%s' and instance protocol '%s' are not compatible: HTTP and HTTPS listeners forward HTTP or HTTPS, TCP and SSL ones TCP or SSL", l.Protocol, l.InstanceProtocol)
		}
		switch {
		case secure(l.Protocol) && l.SSLCertificateId == "":
			return nil, validation("Secure Listeners need to specify a SSLCertificateId")
		case !secure(l.Protocol) && l.SSLCertificateId != "":
			return nil, invalidConfig("An SSLCertificateId is only for HTTPS and SSL listeners, not %s", l.Protocol)
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

// checkInstancePorts refuses listeners that reach one instance port both
// with TLS and without, as AWS does.
func checkInstancePorts(ls []Listener) error {
	tls := map[int]bool{}
	for i, l := range ls {
		if was, ok := tls[l.InstancePort]; ok && was != secure(l.InstanceProtocol) {
			return invalidConfig("Listeners of InstancePort %d must all use a secure instance protocol (HTTPS or SSL) or none: listener %d uses %s", l.InstancePort, ls[i].LoadBalancerPort, l.InstanceProtocol)
		}
		tls[l.InstancePort] = secure(l.InstanceProtocol)
	}
	return nil
}

// checkCertificates checks that the certificates of HTTPS and SSL
// listeners exist.
func (s *Service) checkCertificates(ctx context.Context, ls []Listener) error {
	for _, l := range ls {
		if secure(l.Protocol) {
			if err := s.certificateExists(ctx, l.SSLCertificateId); err != nil {
				return err
			}
		}
	}
	return nil
}

// addListener adds l to r; an HTTPS or SSL listener gets the default
// security policy (ELBSecurityPolicy-2016-08, made on r when it has no
// policy of that name), as AWS gives one made without a policy.
func addListener(r *lbRecord, l Listener) {
	r.Listeners = append(r.Listeners, l)
	if !secure(l.Protocol) {
		return
	}
	if !slices.ContainsFunc(r.Policies, func(p policyRecord) bool { return p.Name == defaultSSLPolicy }) {
		r.Policies = append(r.Policies, predefinedRecord(defaultSSLPolicy))
	}
	if r.ListenerPolicies == nil {
		r.ListenerPolicies = map[int][]string{}
	}
	r.ListenerPolicies[l.LoadBalancerPort] = []string{defaultSSLPolicy}
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
	if err := s.checkCertificates(ctx, ls); err != nil {
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
				addListener(r, l)
			}
		}
		if len(r.Listeners) > maxListeners {
			return invalidConfig("A load balancer can have at most %d listeners", maxListeners)
		}
		return checkInstancePorts(r.Listeners)
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
		for _, p := range in.LoadBalancerPorts {
			delete(r.ListenerPolicies, p)
		}
		return nil
	})
	return nil, err
}

type SetLoadBalancerListenerSSLCertificateInput struct {
	LoadBalancerName string
	LoadBalancerPort int
	SSLCertificateId string
}

// SetLoadBalancerListenerSSLCertificate replaces the certificate of an
// HTTPS or SSL listener; the listener serves it from the next handshake.
func (s *Service) SetLoadBalancerListenerSSLCertificate(ctx context.Context, in *SetLoadBalancerListenerSSLCertificateInput) (*struct{}, error) {
	if err := s.authorizeName(ctx, "SetLoadBalancerListenerSSLCertificate", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if in.LoadBalancerPort == 0 {
		return nil, check.Null("loadBalancerPort")
	}
	if in.SSLCertificateId == "" {
		return nil, check.Null("sSLCertificateId")
	}
	if err := s.certificateExists(ctx, in.SSLCertificateId); err != nil {
		return nil, err
	}
	_, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		i := slices.IndexFunc(r.Listeners, func(l Listener) bool { return l.LoadBalancerPort == in.LoadBalancerPort })
		if i < 0 {
			return listenerNotFound(r.Name, in.LoadBalancerPort)
		}
		if !secure(r.Listeners[i].Protocol) {
			return invalidConfig("The listener on port %d of %s is %s: only HTTPS and SSL listeners have a certificate", in.LoadBalancerPort, r.Name, r.Listeners[i].Protocol)
		}
		r.Listeners[i].SSLCertificateId = in.SSLCertificateId
		return nil
	})
	return nil, err
}

func listenerNotFound(name string, port int) error {
	return api.Errorf(codeListenerNotFound, "There is no listener on port %d of load balancer '%s'", port, name)
}
