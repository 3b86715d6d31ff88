package lb

import (
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"encoding/base64"
	"hash/fnv"
	"net"
	"net/http"
	"time"
)

// Sticky sessions. A forward action to several target groups with
// target group stickiness binds a client to the group that served it
// (AWSALBTG, and AWSALBTGCORS), as long as the group stays in the action;
// the group's own stickiness, if any, then picks the target. A network
// load balancer's target group with source_ip stickiness keeps a
// client's connections and flows on one target: the healthy target its
// address hashes to. An application load balancer's binds a client to
// the target that served it, by a cookie of the load balancer's:
//   - lb_cookie: every response carries AWSALB (and AWSALBCORS, the same
//     value for cross-origin requests: SameSite=None; Secure), valid for
//     the group's duration and renewed with each response;
//   - app_cookie: when the target sets the application's cookie (the
//     group's cookie name), the response also carries AWSALBAPP-0, valid
//     for the group's duration.
//
// A request with the cookie goes to its target while that target is in
// the group and healthy; otherwise the group picks one as usual, and the
// response binds the client to it. The cookie's value is the target
// sealed with a key of this data plane's (AES-GCM): clients can neither
// read which target it names nor name one themselves.

// Stickiness is a target group's sticky sessions.
type Stickiness struct {
	// Type is lb_cookie or app_cookie (application load balancers) or
	// source_ip (network load balancers).
	Type string
	// Duration is how long a binding lasts.
	Duration time.Duration
	// CookieName is the application's cookie (app_cookie).
	CookieName string
	// Cookie, when set, is the load balancer's one cookie in place of
	// AWSALB and AWSALBCORS (lb_cookie) or AWSALBAPP-0 (app_cookie):
	// AWSELB for Classic load balancers, which set no CORS twin.
	Cookie string
}

const (
	cookieLB        = "AWSALB"
	cookieLBCORS    = "AWSALBCORS"
	cookieApp       = "AWSALBAPP-0"
	cookieGroup     = "AWSALBTG"
	cookieGroupCORS = "AWSALBTGCORS"
)

// cookieOf is the load balancer's cookie a request names its target with.
func (s *Stickiness) cookieOf() string {
	if s.Cookie != "" {
		return s.Cookie
	}
	if s.Type == "app_cookie" {
		return cookieApp
	}
	return cookieLB
}

// sealer seals target keys into cookie values and opens them.
type sealer struct{ aead cipher.AEAD }

func newSealer() sealer {
	key := make([]byte, 32)
	crand.Read(key)
	block, _ := aes.NewCipher(key) // a 32-byte key is always valid
	aead, _ := cipher.NewGCM(block)
	return sealer{aead: aead}
}

func (s sealer) seal(key string) string {
	nonce := make([]byte, s.aead.NonceSize())
	crand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(key), nil))
}

func (s sealer) open(value string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", false
	}
	key, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	return string(key), err == nil
}

// stickyTarget is the healthy target of g that r's cookie binds it to,
// or nil.
func (p *Plane) stickyTarget(g *group, st *Stickiness, r *http.Request) *target {
	c, err := r.Cookie(st.cookieOf())
	if err != nil {
		return nil
	}
	key, ok := p.sealer.open(c.Value)
	if !ok {
		return nil
	}
	for _, t := range *g.targets.Load() {
		if t.key == key && t.routable.Load() {
			return t
		}
	}
	return nil
}

// bySource is the healthy target of g that client's address (without its
// port) hashes to, or nil when none is healthy.
func (g *group) bySource(client net.Addr) *target {
	host := client.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var healthy []*target
	for _, t := range *g.targets.Load() {
		if t.routable.Load() {
			healthy = append(healthy, t)
		}
	}
	if len(healthy) == 0 {
		return nil
	}
	sum := fnv.New32a()
	sum.Write([]byte(host))
	return healthy[sum.Sum32()%uint32(len(healthy))]
}

// bind adds to a target's response the cookies that bind its client to
// the target. Without a duration the binding is for the browser session
// (lb_cookie: a cookie without expiry) or as long as the application's
// cookie (app_cookie: the same expiry, and removed when it is).
func (p *Plane) bind(resp *http.Response, st *Stickiness, key string) {
	var expires time.Time
	if st.Duration > 0 {
		expires = time.Now().Add(st.Duration)
	}
	switch st.Type {
	case "app_cookie":
		var app *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == st.CookieName {
				app = c
			}
		}
		if app == nil {
			return
		}
		c := &http.Cookie{Name: st.cookieOf(), Value: p.sealer.seal(key), Expires: expires, Path: "/"}
		if st.Duration == 0 {
			c.Expires, c.MaxAge = app.Expires, app.MaxAge
		}
		resp.Header.Add("Set-Cookie", c.String())
	default:
		v := p.sealer.seal(key)
		resp.Header.Add("Set-Cookie", (&http.Cookie{Name: st.cookieOf(), Value: v, Expires: expires, Path: "/"}).String())
		if st.Cookie == "" {
			resp.Header.Add("Set-Cookie", (&http.Cookie{Name: cookieLBCORS, Value: v, Expires: expires, Path: "/",
				SameSite: http.SameSiteNoneMode, Secure: true}).String())
		}
	}
}

// stickyGroup is the group of rt that r's AWSALBTG cookie binds it to,
// or nil.
func (p *Plane) stickyGroup(rt *route, r *http.Request) *group {
	c, err := r.Cookie(cookieGroup)
	if err != nil {
		return nil
	}
	arn, ok := p.sealer.open(c.Value)
	if !ok {
		return nil
	}
	for _, w := range rt.groups {
		if w.g.arn == arn && w.weight > 0 {
			return w.g
		}
	}
	return nil
}

// bindGroup adds the cookies that bind the client to the target group.
func (p *Plane) bindGroup(resp *http.Response, arn string, d time.Duration) {
	v, expires := p.sealer.seal(arn), time.Now().Add(d)
	resp.Header.Add("Set-Cookie", (&http.Cookie{Name: cookieGroup, Value: v, Expires: expires, Path: "/"}).String())
	resp.Header.Add("Set-Cookie", (&http.Cookie{Name: cookieGroupCORS, Value: v, Expires: expires, Path: "/",
		SameSite: http.SameSiteNoneMode, Secure: true}).String())
}
