package policy

import (
	"strconv"
	"strings"
	"time"
)

// Request is what is being asked, as the API layer sees it.
type Request struct {
	// Action is "service:Operation", e.g. "ecs:RunTask"; matched case-insensitively.
	Action string
	// Resource is the ARN acted on, or "*" for actions without resource-level permissions.
	Resource string
	// Principal is the authenticated caller.
	Principal Principal
	// Context holds condition keys and their values, e.g. "aws:SourceIp",
	// "aws:username", "aws:RequestTag/team", "ecs:cluster". Key names are
	// case-insensitive. A key with no values counts as absent.
	Context map[string][]string
	// Time, when set, supplies aws:CurrentTime and aws:EpochTime unless
	// Context has them.
	Time time.Time
}

// evalContext is a request prepared for evaluation: lower-cased action and
// context keys, and the keys Berth can derive from the request itself.
type evalContext struct {
	action     string
	resource   string
	principal  *Principal
	raw        map[string][]string // as the caller gave it
	keys       map[string][]string // raw with lower-cased names, once normalized
	normalized bool
	time       time.Time
	// bounded: the principal has a permissions boundary, which makes every
	// Deny with NotPrincipal apply to it, as AWS documents.
	bounded bool
}

func newEvalContext(req *Request) *evalContext {
	return &evalContext{
		action:    strings.ToLower(req.Action),
		resource:  req.Resource,
		principal: &req.Principal,
		raw:       req.Context,
		time:      req.Time,
	}
}

// normalize lower-cases the context's key names, on first use only: most
// statements are ruled out by their action before any key is looked at.
func (c *evalContext) normalize() {
	c.normalized = true
	c.keys = c.raw
	for k := range c.raw {
		if k != strings.ToLower(k) {
			c.keys = make(map[string][]string, len(c.raw))
			for k, v := range c.raw {
				lk := strings.ToLower(k)
				c.keys[lk] = append(c.keys[lk], v...)
			}
			return
		}
	}
}

// get returns the values of a lower-cased key, deriving aws:username,
// aws:PrincipalArn, aws:PrincipalAccount, aws:CurrentTime and aws:EpochTime from the request
// when the caller did not supply them.
func (c *evalContext) get(key string) []string {
	if !c.normalized {
		c.normalize()
	}
	if v, ok := c.keys[key]; ok {
		return v
	}
	switch key {
	case "aws:principalarn":
		if p := c.principal; p.RoleARN != "" {
			return []string{p.RoleARN}
		} else if p.ARN != "" {
			return []string{p.ARN}
		}
	case "aws:username":
		// AWS sets aws:username for IAM users only: the last part of the user's ARN.
		if _, rest, ok := strings.Cut(c.principal.ARN, ":user/"); ok && strings.HasPrefix(c.principal.ARN, "arn:") {
			return []string{rest[strings.LastIndexByte(rest, '/')+1:]}
		}
	case "aws:principalaccount":
		if c.principal.Account != "" {
			return []string{c.principal.Account}
		}
	case "aws:currenttime":
		if !c.time.IsZero() {
			return []string{c.time.UTC().Format(time.RFC3339)}
		}
	case "aws:epochtime":
		if !c.time.IsZero() {
			return []string{strconv.FormatInt(c.time.Unix(), 10)}
		}
	}
	return nil
}
