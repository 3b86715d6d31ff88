package api

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TagRules are one service's constraints on a resource's tags, as its
// model and documentation give them. Every service validates tags with
// Check, so the rules differ only where AWS's do.
type TagRules struct {
	// Code is the error code of a bad tag (InvalidParameterException,
	// InvalidTagParameterException, ValidationError, InvalidParameterValue).
	Code string
	// Field names the tag list in messages, e.g. "tags".
	Field string
	// Max is how many tags a resource may carry; TooMany, when set, is
	// the error for more (its own code in some services).
	Max     int
	TooMany func() error
	// Chars restricts keys and values to AWS's tag character set.
	Chars bool
	// Unique refuses a key given twice, with DuplicateCode (Code when
	// empty); CaseInsensitive compares keys without case, as IAM does.
	Unique, CaseInsensitive bool
	DuplicateCode           string
}

// tagChars is the character set AWS allows in tag keys and values.
var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// Check validates n tags, the i-th given by tag(i), with AWS's
// "1 validation error detected" wording: keys of 1 to 128 characters not
// starting with "aws:" (any case), values of at most 256.
func (r TagRules) Check(n int, tag func(i int) (key, value string)) error {
	check := Validation{Code: r.Code}
	if r.Max > 0 && n > r.Max {
		if r.TooMany != nil {
			return r.TooMany()
		}
		return check.Items(r.Field, n, 0, r.Max)
	}
	seen := map[string]bool{}
	const pattern = "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"
	for i := 0; i < n; i++ {
		k, v := tag(i)
		at := func(part string) string { return r.Field + "." + strconv.Itoa(i+1) + ".member." + part }
		switch {
		case utf8.RuneCountInString(k) < 1 || utf8.RuneCountInString(k) > 128:
			return check.Fail(at("key"), k, "Member must have length between 1 and 128")
		case r.Chars && !tagChars.MatchString(k):
			return check.Fail(at("key"), k, pattern)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return Errorf(r.Code, "Tag keys beginning with 'aws:' are reserved for AWS use; '%s' cannot be set.", k)
		case utf8.RuneCountInString(v) > 256:
			return check.Fail(at("value"), v, "Member must have length less than or equal to 256")
		case r.Chars && !tagChars.MatchString(v):
			return check.Fail(at("value"), v, pattern)
		}
		if r.Unique {
			id := k
			if r.CaseInsensitive {
				id = strings.ToLower(k)
			}
			if seen[id] {
				code := r.Code
				if r.DuplicateCode != "" {
					code = r.DuplicateCode
				}
				return Errorf(code, "Duplicate tag keys found: '%s'. A key may be given once%s.", k, map[bool]string{true: " (keys are case insensitive)"}[r.CaseInsensitive])
			}
			seen[id] = true
		}
	}
	return nil
}
