package sigv4

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Names of the headers and query parameters that carry signing information.
const (
	headerAuthorization = "Authorization"
	headerDate          = "Date"
	headerContentSHA256 = "x-amz-content-sha256"
	paramAlgorithm      = "X-Amz-Algorithm"
	paramCredential     = "X-Amz-Credential"
	paramDate           = "X-Amz-Date"
	paramExpires        = "X-Amz-Expires"
	paramSecurityToken  = "X-Amz-Security-Token"
	paramSignedHeaders  = "X-Amz-SignedHeaders"
	paramSignature      = "X-Amz-Signature"
)

// maxPresignExpires is the longest X-Amz-Expires AWS accepts: seven days.
const maxPresignExpires = 604800

// credential is a parsed "AKID/date/region/service/aws4_request" value.
type credential struct {
	accessKeyID string
	date        string
	region      string
	service     string
	terminator  string
}

// scope returns the credential scope as used in the string to sign.
func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + c.terminator
}

// parseCredential splits a Credential value into its five elements.
func parseCredential(value string) (credential, bool) {
	parts := strings.Split(value, "/")
	if len(parts) != 5 {
		return credential{}, false
	}
	return credential{parts[0], parts[1], parts[2], parts[3], parts[4]}, true
}

// signedInput is everything the signature covers besides the request
// itself, as read from either the Authorization header or the query.
type signedInput struct {
	presigned     bool
	algorithm     string
	cred          credential
	signedHeaders string
	signature     string
	signingTime   time.Time
	expires       time.Duration // presigned only; zero when X-Amz-Expires is absent
	securityToken string
	query         []queryPair
}

// parseRequest finds and parses the signature of r, in header or presigned form.
func parseRequest(r *http.Request) (*signedInput, *Error) {
	var query []queryPair
	if r.URL != nil {
		query = parseQuery(r.URL.RawQuery)
	}
	header := r.Header.Get(headerAuthorization)
	presigned := queryHas(query, paramAlgorithm) || queryHas(query, paramCredential) || queryHas(query, paramSignature)
	switch {
	case header != "" && presigned:
		return nil, newError(CodeIncompleteSignature, "Only one auth mechanism allowed; only the X-Amz-Algorithm "+
			"query parameter or the Authorization header should be specified.")
	case header != "":
		return parseHeaderForm(r, header, query)
	case presigned:
		return parseQueryForm(r, query)
	default:
		return nil, errMissingAuth()
	}
}

// parseHeaderForm reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func parseHeaderForm(r *http.Request, header string, query []queryPair) (*signedInput, *Error) {
	alg, params := splitAuthorization(header)
	in := &signedInput{algorithm: alg, query: query}
	var problems []string
	credValue, ok := params["Credential"]
	if !ok {
		problems = append(problems, "Authorization header requires 'Credential' parameter.")
	}
	if in.signature, ok = params["Signature"]; !ok {
		problems = append(problems, "Authorization header requires 'Signature' parameter.")
	}
	if in.signedHeaders, ok = params["SignedHeaders"]; !ok {
		problems = append(problems, "Authorization header requires 'SignedHeaders' parameter.")
	}
	date, fromAmzDate := r.Header.Get(paramDate), true
	if date == "" {
		date, fromAmzDate = r.Header.Get(headerDate), false
	}
	if date == "" {
		problems = append(problems, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(problems) > 0 {
		return nil, errIncompleteHeader(problems, header)
	}
	if alg != algorithm {
		return nil, newError(CodeIncompleteSignature, "Unsupported AWS 'algorithm': '%s'.", alg)
	}
	if in.cred, ok = parseCredential(credValue); !ok {
		return nil, errBadCredential(credValue)
	}
	var err error
	if fromAmzDate {
		in.signingTime, err = time.Parse(timeFormat, date)
	} else {
		in.signingTime, err = http.ParseTime(date)
	}
	if err != nil {
		return nil, errBadDate(date)
	}
	in.signingTime = in.signingTime.UTC()
	in.securityToken = r.Header.Get(paramSecurityToken)
	return in, nil
}

// splitAuthorization splits an Authorization header into its algorithm and
// its comma-separated name=value parameters. The first occurrence of a
// parameter wins.
func splitAuthorization(header string) (string, map[string]string) {
	header = strings.TrimSpace(header)
	alg, rest, _ := strings.Cut(header, " ")
	params := make(map[string]string, 3)
	for field := range strings.SplitSeq(rest, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if _, seen := params[name]; !seen {
			params[name] = strings.TrimSpace(value)
		}
	}
	return alg, params
}

// parseQueryForm reads the X-Amz-* parameters of a presigned URL.
func parseQueryForm(r *http.Request, query []queryPair) (*signedInput, *Error) {
	in := &signedInput{presigned: true, query: query}
	var missing []string
	get := func(name string) string {
		v, ok := queryGet(query, name)
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	}
	in.algorithm = get(paramAlgorithm)
	credValue := get(paramCredential)
	in.signature = get(paramSignature)
	in.signedHeaders = get(paramSignedHeaders)
	date := get(paramDate)
	if len(missing) > 0 {
		return nil, errIncompleteQuery(missing)
	}
	if in.algorithm != algorithm {
		return nil, newError(CodeIncompleteSignature, "Unsupported AWS 'algorithm': '%s'.", in.algorithm)
	}
	var ok bool
	if in.cred, ok = parseCredential(credValue); !ok {
		return nil, errBadCredential(credValue)
	}
	t, err := time.Parse(timeFormat, date)
	if err != nil {
		return nil, errBadDate(date)
	}
	in.signingTime = t.UTC()
	if v, ok := queryGet(query, paramExpires); ok {
		secs, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return nil, newError(CodeIncompleteSignature, "X-Amz-Expires should be a number")
		case secs < 1:
			return nil, newError(CodeIncompleteSignature, "X-Amz-Expires must be a positive number of seconds")
		case secs > maxPresignExpires:
			return nil, newError(CodeIncompleteSignature,
				"X-Amz-Expires must be less than a week (in seconds) that is %d", maxPresignExpires)
		}
		in.expires = time.Duration(secs) * time.Second
	}
	if tok, ok := queryGet(query, paramSecurityToken); ok {
		in.securityToken = tok
	} else {
		in.securityToken = r.Header.Get(paramSecurityToken)
	}
	return in, nil
}

func errBadCredential(value string) *Error {
	return newError(CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, "+
		"e.g. keyid/date/region/service/term, got '%s'", value)
}

// Scope parses only the credential scope (service, region, access key) from
// the Authorization header or X-Amz-Credential query parameter without
// verifying, so a router can pick a service; ok=false when the request is
// unsigned or its credential is malformed.
func Scope(r *http.Request) (accessKeyID, region, service string, ok bool) {
	var value string
	if header := r.Header.Get(headerAuthorization); header != "" {
		_, params := splitAuthorization(header)
		value, ok = params["Credential"]
	} else if r.URL != nil {
		value, ok = queryGet(parseQuery(r.URL.RawQuery), paramCredential)
	}
	if !ok {
		return "", "", "", false
	}
	c, ok := parseCredential(value)
	if !ok || c.accessKeyID == "" || c.region == "" || c.service == "" {
		return "", "", "", false
	}
	return c.accessKeyID, c.region, c.service, true
}
