package elbv2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

// listenerRecord is a listener as stored inside its load balancer.
type listenerRecord struct {
	ARN            string       `json:"arn"`
	Port           int          `json:"port"`
	Protocol       string       `json:"protocol"`
	DefaultActions []Action     `json:"defaultActions"`
	DefaultRule    string       `json:"defaultRule"`
	DefaultTags    []Tag        `json:"defaultTags,omitempty"`
	Rules          []ruleRecord `json:"rules,omitempty"`
	Tags           []Tag        `json:"tags,omitempty"`
	// DefaultCertificate, SslPolicy and Certificates (served by SNI
	// besides the default) are an HTTPS or TLS listener's; AlpnPolicy a
	// TLS listener's.
	DefaultCertificate string   `json:"defaultCertificate,omitempty"`
	Certificates       []string `json:"certificates,omitempty"`
	SslPolicy          string   `json:"sslPolicy,omitempty"`
	AlpnPolicy         string   `json:"alpnPolicy,omitempty"`
}

type CreateListenerInput struct {
	LoadBalancerArn string
	Protocol        string
	Port            *int
	DefaultActions  []Action
	Tags            []Tag
	Certificates    []Certificate
	SslPolicy       string
	AlpnPolicy      []string
}

// Listener is ELBv2's Listener shape.
type Listener struct {
	ListenerArn     string
	LoadBalancerArn string
	Port            int
	Protocol        string
	Certificates    *api.Members[Certificate] `xml:",omitempty"`
	SslPolicy       string                    `xml:",omitempty"`
	DefaultActions  api.Members[Action]
	AlpnPolicy      *api.Members[string] `xml:",omitempty"`
}

type ListenersOutput struct {
	Listeners  api.Members[Listener]
	NextMarker string `xml:",omitempty"`
}

func listenerShape(lb lbRecord, l listenerRecord) Listener {
	out := Listener{ListenerArn: l.ARN, LoadBalancerArn: lb.ARN, Port: l.Port, Protocol: l.Protocol, DefaultActions: l.DefaultActions, SslPolicy: l.SslPolicy}
	if l.DefaultCertificate != "" {
		out.Certificates = &api.Members[Certificate]{{CertificateArn: l.DefaultCertificate}}
	}
	if l.AlpnPolicy != "" {
		out.AlpnPolicy = &api.Members[string]{l.AlpnPolicy}
	}
	return out
}

// listenerProtocols are the listener protocols Berth serves by load
// balancer type.
var listenerProtocols = map[string][]string{typeApplication: {"HTTP", "HTTPS"}, typeNetwork: {"TCP", "TLS", "UDP", "TCP_UDP"}}

// checkListener checks a listener's protocol and port for a load balancer.
func checkListener(lb lbRecord, protocol string, port int) error {
	if err := check.Enum("protocol", protocol, "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"); err != nil {
		return err
	}
	if want := listenerProtocols[lb.Type]; !slices.Contains(want, protocol) {
		return api.Errorf(codeUnsupportedProtocol, "Protocol '%s' is not supported by Berth for load balancers of type '%s': use %s", protocol, lb.Type, strings.Join(want, " or "))
	}
	return check.Range("port", port, 1, 65535)
}

// probePort refuses a port this machine's listeners cannot bind for a
// listener protocol (TCP, UDP or both): one another program holds, or one
// below 1024 for a server without the privilege.
func (s *Service) probePort(port int, protocol string) error {
	for _, addr := range s.cfg.Listen {
		hostPort := net.JoinHostPort(addr, strconv.Itoa(port))
		if protocol != "UDP" {
			ln, err := net.Listen("tcp", hostPort)
			if err != nil {
				return invalidConfig("Port %d cannot be bound on %s on this machine (%v); another program may hold it: choose another port", port, addr, errors.Unwrap(err))
			}
			ln.Close()
		}
		if protocol == "UDP" || protocol == "TCP_UDP" {
			pc, err := net.ListenPacket("udp", hostPort)
			if err != nil {
				return invalidConfig("UDP port %d cannot be bound on %s on this machine (%v); another program may hold it: choose another port", port, addr, errors.Unwrap(err))
			}
			pc.Close()
		}
	}
	return nil
}

// CreateListener adds an HTTP (application) or TCP (network) listener.
// Every listener of the machine has its own port: one another listener
// holds is DuplicateListener.
func (s *Service) CreateListener(ctx context.Context, in *CreateListenerInput) (*ListenersOutput, error) {
	it, err := s.balancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	lb := it.Value
	if err := s.authorize(ctx, "CreateListener", lb.ARN); err != nil {
		return nil, err
	}
	protocol := in.Protocol
	if protocol == "" {
		protocol = map[string]string{typeApplication: "HTTP", typeNetwork: "TCP"}[lb.Type]
	}
	if in.Port == nil {
		return nil, validation("A listener port must be specified")
	}
	if err := checkListener(lb, protocol, *in.Port); err != nil {
		return nil, err
	}
	acts, err := normalizeActions("defaultActions", in.DefaultActions, lb.Type)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	lbID := lb.ARN[len(s.arn("loadbalancer/")):]
	id := newID()
	rec := listenerRecord{ARN: s.arn(fmt.Sprintf("listener/%s/%s", lbID, id)), Port: *in.Port, Protocol: protocol, DefaultActions: acts,
		DefaultRule: s.arn(fmt.Sprintf("listener-rule/%s/%s/%s", lbID, id, newID())), Tags: tags}
	if err := s.applyTLS(ctx, &rec, protocol, tlsSettings{in.Certificates, in.SslPolicy, in.AlpnPolicy}); err != nil {
		return nil, err
	}
	var out Listener
	err = s.mutate(ctx, lb.ARN, func(r *lbRecord) error {
		for _, l := range r.Listeners {
			if l.Port != rec.Port {
				continue
			}
			if l.Protocol == rec.Protocol && sameActions(l.DefaultActions, rec.DefaultActions) && l.DefaultCertificate == rec.DefaultCertificate && l.SslPolicy == rec.SslPolicy {
				out = listenerShape(*r, l)
				return nil
			}
			return api.Errorf(codeDuplicateListener, "A listener already exists on port %d of load balancer '%s'", rec.Port, r.ARN)
		}
		if len(r.Listeners) >= maxListeners {
			return api.Errorf(codeTooManyListeners, "You've reached the limit on the number of listeners per load balancer (%d)", maxListeners)
		}
		if err := s.probeUnlessOurs(ctx, rec.Port, rec.Protocol); err != nil {
			return err
		}
		r.Listeners = append(r.Listeners, rec)
		out = listenerShape(*r, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ListenersOutput{Listeners: api.Members[Listener]{out}}, nil
}

// probeUnlessOurs probes a port unless one of the machine's listeners
// holds it (then mutate answers DuplicateListener).
func (s *Service) probeUnlessOurs(ctx context.Context, port int, protocol string) error {
	ok, err := s.store.Exists(ctx, s.keys.port(port))
	if err != nil || ok {
		return err
	}
	return s.probePort(port, protocol)
}

func sameActions(a, b []Action) bool {
	return slices.EqualFunc(a, b, func(x, y Action) bool { return fmt.Sprint(clone(x)) == fmt.Sprint(clone(y)) })
}

// findListener returns the load balancer of a listener ARN and the
// listener's index in it, or ListenerNotFound.
func (s *Service) findListener(ctx context.Context, arn string) (store.Item[lbRecord], int, error) {
	parts, ok := s.arnParts(arn, "listener")
	if arn == "" {
		return store.Item[lbRecord]{}, 0, check.Null("listenerArn")
	}
	notFound := api.Errorf(codeListenerNotFound, "Listener '%s' not found", arn)
	if !ok || len(parts) != 4 {
		return store.Item[lbRecord]{}, 0, notFound
	}
	it, err := s.balancer(ctx, s.arn("loadbalancer/"+parts[0]+"/"+parts[1]+"/"+parts[2]))
	if codeOf(err) == codeLBNotFound {
		return it, 0, notFound
	}
	if err != nil {
		return it, 0, err
	}
	i := slices.IndexFunc(it.Value.Listeners, func(l listenerRecord) bool { return l.ARN == arn })
	if i < 0 {
		return it, 0, notFound
	}
	return it, i, nil
}

type DescribeListenersInput struct {
	LoadBalancerArn string
	ListenerArns    []string
	Marker          string
	PageSize        int
}

// DescribeListeners lists a load balancer's listeners, or listeners by ARN.
func (s *Service) DescribeListeners(ctx context.Context, in *DescribeListenersInput) (*ListenersOutput, error) {
	if err := s.authorize(ctx, "DescribeListeners", "*"); err != nil {
		return nil, err
	}
	if (in.LoadBalancerArn == "") == (len(in.ListenerArns) == 0) {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	var all []Listener
	if in.LoadBalancerArn != "" {
		it, err := s.balancer(ctx, in.LoadBalancerArn)
		if err != nil {
			return nil, err
		}
		for _, l := range it.Value.Listeners {
			all = append(all, listenerShape(it.Value, l))
		}
	} else {
		for _, arn := range in.ListenerArns {
			it, i, err := s.findListener(ctx, arn)
			if err != nil {
				return nil, err
			}
			all = append(all, listenerShape(it.Value, it.Value.Listeners[i]))
		}
	}
	recs, next, err := page(all, func(l Listener) string { return l.ListenerArn }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &ListenersOutput{Listeners: api.Members[Listener](orEmpty(recs)), NextMarker: next}, nil
}

type ModifyListenerInput struct {
	ListenerArn    string
	Port           *int
	Protocol       string
	DefaultActions []Action
	Certificates   []Certificate
	SslPolicy      string
	AlpnPolicy     []string
}

// ModifyListener changes a listener's port, protocol, default actions,
// default certificate or policies. An HTTPS or TLS listener made HTTP
// or TCP loses its certificates; made HTTPS or TLS it needs one.
func (s *Service) ModifyListener(ctx context.Context, in *ModifyListenerInput) (*ListenersOutput, error) {
	it, _, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ModifyListener", in.ListenerArn); err != nil {
		return nil, err
	}
	var acts []Action
	if len(in.DefaultActions) > 0 {
		if acts, err = normalizeActions("defaultActions", in.DefaultActions, it.Value.Type); err != nil {
			return nil, err
		}
	}
	var out Listener
	err = s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		l := r.listener(in.ListenerArn)
		if l == nil {
			return api.Errorf(codeListenerNotFound, "Listener '%s' not found", in.ListenerArn)
		}
		port, protocol := l.Port, l.Protocol
		if in.Port != nil {
			port = *in.Port
		}
		if in.Protocol != "" {
			protocol = in.Protocol
		}
		if err := checkListener(*r, protocol, port); err != nil {
			return err
		}
		if err := s.applyTLS(ctx, l, protocol, tlsSettings{in.Certificates, in.SslPolicy, in.AlpnPolicy}); err != nil {
			return err
		}
		if port != l.Port {
			for _, o := range r.Listeners {
				if o.Port == port {
					return api.Errorf(codeDuplicateListener, "A listener already exists on port %d of load balancer '%s'", port, r.ARN)
				}
			}
			if err := s.probeUnlessOurs(ctx, port, protocol); err != nil {
				return err
			}
		}
		l.Port, l.Protocol = port, protocol
		if acts != nil {
			l.DefaultActions = acts
		}
		out = listenerShape(*r, *l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ListenersOutput{Listeners: api.Members[Listener]{out}}, nil
}

type ListenerArnInput struct {
	ListenerArn string
}

// DeleteListener deletes a listener with its rules.
func (s *Service) DeleteListener(ctx context.Context, in *ListenerArnInput) (*struct{}, error) {
	it, _, err := s.findListener(ctx, in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteListener", in.ListenerArn); err != nil {
		return nil, err
	}
	return nil, s.mutate(ctx, it.Value.ARN, func(r *lbRecord) error {
		n := len(r.Listeners)
		r.Listeners = slices.DeleteFunc(r.Listeners, func(l listenerRecord) bool { return l.ARN == in.ListenerArn })
		if len(r.Listeners) == n {
			return api.Errorf(codeListenerNotFound, "Listener '%s' not found", in.ListenerArn)
		}
		return nil
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
