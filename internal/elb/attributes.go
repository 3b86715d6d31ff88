package elb

import (
	"context"
	"maps"
	"regexp"
	"slices"

	"github.com/berth-dev/berth/internal/api"
)

// attributes are a load balancer's attributes as stored.
type attributes struct {
	CrossZone          bool               `json:"crossZone"`
	ConnectionDraining ConnectionDraining `json:"connectionDraining"`
	IdleTimeout        int                `json:"idleTimeout"`
	AccessLog          AccessLog          `json:"accessLog"`
	// Additional are the AdditionalAttributes set, by key.
	Additional map[string]string `json:"additional,omitempty"`
}

// defaultAttributes are AWS's for a load balancer the API creates.
func defaultAttributes() attributes {
	return attributes{ConnectionDraining: ConnectionDraining{Timeout: 300}, IdleTimeout: 60}
}

type ConnectionDraining struct {
	Enabled bool
	Timeout int
}

type AccessLog struct {
	Enabled        bool
	S3BucketName   string `xml:",omitempty"`
	EmitInterval   int    `xml:",omitempty"`
	S3BucketPrefix string `xml:",omitempty"`
}

// LoadBalancerAttributes is the API's shape of the attributes; in a
// modification, an absent part is left as it is.
type LoadBalancerAttributes struct {
	CrossZoneLoadBalancing *struct{ Enabled bool }
	AccessLog              *AccessLog
	ConnectionDraining     *ConnectionDraining
	ConnectionSettings     *struct{ IdleTimeout int }
	AdditionalAttributes   []AdditionalAttribute
}

type AdditionalAttribute struct {
	Key, Value string
}

// attributesShape is LoadBalancerAttributes as answered: every part.
type attributesShape struct {
	CrossZoneLoadBalancing struct{ Enabled bool }
	AccessLog              AccessLog
	ConnectionDraining     ConnectionDraining
	ConnectionSettings     struct{ IdleTimeout int }
	AdditionalAttributes   api.Members[AdditionalAttribute]
}

func (a attributes) shape() attributesShape {
	var out attributesShape
	out.CrossZoneLoadBalancing.Enabled = a.CrossZone
	out.AccessLog, out.ConnectionDraining = a.AccessLog, a.ConnectionDraining
	out.ConnectionSettings.IdleTimeout = a.IdleTimeout
	out.AdditionalAttributes = api.Members[AdditionalAttribute]{}
	for _, k := range slices.Sorted(maps.Keys(a.Additional)) {
		out.AdditionalAttributes = append(out.AdditionalAttributes, AdditionalAttribute{Key: k, Value: a.Additional[k]})
	}
	return out
}

type DescribeLoadBalancerAttributesOutput struct {
	LoadBalancerAttributes attributesShape
}

// DescribeLoadBalancerAttributes answers every attribute.
func (s *Service) DescribeLoadBalancerAttributes(ctx context.Context, in *LoadBalancerNameInput) (*DescribeLoadBalancerAttributesOutput, error) {
	if err := s.authorizeName(ctx, "DescribeLoadBalancerAttributes", in.LoadBalancerName); err != nil {
		return nil, err
	}
	it, err := s.balancer(ctx, in.LoadBalancerName)
	if err != nil {
		return nil, err
	}
	return &DescribeLoadBalancerAttributesOutput{LoadBalancerAttributes: it.Value.Attributes.shape()}, nil
}

type ModifyLoadBalancerAttributesInput struct {
	LoadBalancerName       string
	LoadBalancerAttributes LoadBalancerAttributes
}

type ModifyLoadBalancerAttributesOutput struct {
	LoadBalancerName       string
	LoadBalancerAttributes attributesShape
}

// additionalKeys are the additional attributes AWS knows, with the
// values each takes.
var additionalKeys = map[string][]string{
	"elb.http.desyncmitigationmode": {"monitor", "defensive", "strictest"},
}

var additionalChars = regexp.MustCompile(`^[a-zA-Z0-9.]+$`)

// ModifyLoadBalancerAttributes changes the parts given. Access logs are
// stored and answered; Berth writes none.
func (s *Service) ModifyLoadBalancerAttributes(ctx context.Context, in *ModifyLoadBalancerAttributesInput) (*ModifyLoadBalancerAttributesOutput, error) {
	if err := s.authorizeName(ctx, "ModifyLoadBalancerAttributes", in.LoadBalancerName); err != nil {
		return nil, err
	}
	a := in.LoadBalancerAttributes
	if d := a.ConnectionDraining; d != nil && d.Timeout != 0 {
		if err := check.Range("loadBalancerAttributes.connectionDraining.timeout", d.Timeout, 1, 3600); err != nil {
			return nil, err
		}
	}
	if c := a.ConnectionSettings; c != nil {
		if err := check.Range("loadBalancerAttributes.connectionSettings.idleTimeout", c.IdleTimeout, 1, 3600); err != nil {
			return nil, err
		}
	}
	if l := a.AccessLog; l != nil && l.Enabled {
		if l.S3BucketName == "" {
			return nil, invalidConfig("The S3 bucket name must be given to enable access logs")
		}
		if l.EmitInterval != 0 && l.EmitInterval != 5 && l.EmitInterval != 60 {
			return nil, validation("AccessLog EmitInterval must be 5 or 60 minutes")
		}
	}
	for _, kv := range a.AdditionalAttributes {
		values, ok := additionalKeys[kv.Key]
		if !ok {
			return nil, api.Errorf(codeAttrNotFound, "The specified load balancer attribute does not exist: %s", kv.Key)
		}
		if !additionalChars.MatchString(kv.Value) || !slices.Contains(values, kv.Value) {
			return nil, validation("The value '%s' of attribute %s is not valid: it is one of %v", kv.Value, kv.Key, values)
		}
	}
	r, err := s.mutate(ctx, in.LoadBalancerName, func(r *lbRecord) error {
		at := &r.Attributes
		if c := a.CrossZoneLoadBalancing; c != nil {
			at.CrossZone = c.Enabled
		}
		if d := a.ConnectionDraining; d != nil {
			at.ConnectionDraining.Enabled = d.Enabled
			if d.Timeout != 0 {
				at.ConnectionDraining.Timeout = d.Timeout
			}
		}
		if c := a.ConnectionSettings; c != nil {
			at.IdleTimeout = c.IdleTimeout
		}
		if l := a.AccessLog; l != nil {
			at.AccessLog = *l
			if l.Enabled && l.EmitInterval == 0 {
				at.AccessLog.EmitInterval = 60
			}
		}
		for _, kv := range a.AdditionalAttributes {
			if at.Additional == nil {
				at.Additional = map[string]string{}
			}
			at.Additional[kv.Key] = kv.Value
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ModifyLoadBalancerAttributesOutput{LoadBalancerName: r.Name, LoadBalancerAttributes: r.Attributes.shape()}, nil
}
