package ecr

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/api"
)

// Lifecycle policy text length limits of the ECR model.
const (
	minLifecyclePolicy = 100
	maxLifecyclePolicy = 30720
)

// lifecyclePolicy is a parsed lifecycle policy document.
type lifecyclePolicy struct {
	Rules []lifecycleRule `json:"rules"`
}

type lifecycleRule struct {
	RulePriority int                `json:"rulePriority"`
	Description  string             `json:"description"`
	Selection    lifecycleSelection `json:"selection"`
	Action       struct {
		Type string `json:"type"`
	} `json:"action"`
}

type lifecycleSelection struct {
	TagStatus      string   `json:"tagStatus"`
	TagPrefixList  []string `json:"tagPrefixList"`
	TagPatternList []string `json:"tagPatternList"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit"`
	CountNumber    int      `json:"countNumber"`
}

func invalidLifecycle(format string, args ...any) error {
	return api.InvalidParameter("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: %s'", fmt.Sprintf(format, args...))
}

// parseLifecyclePolicy decodes and validates a lifecycle policy with
// ECR's rules: unique priorities, tagStatus tagged with a prefix or
// pattern list (never for untagged or any), a count type with its unit,
// action expire, and at most one rule for any, which must come last.
func parseLifecyclePolicy(text string) (lifecyclePolicy, error) {
	var p lifecyclePolicy
	if len(text) < minLifecyclePolicy || len(text) > maxLifecyclePolicy {
		return p, api.InvalidParameter("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length between %d and %d'", minLifecyclePolicy, maxLifecyclePolicy)
	}
	if err := strictDecode([]byte(text), &p); err != nil {
		return p, invalidLifecycle("%v", err)
	}
	if len(p.Rules) == 0 {
		return p, invalidLifecycle("the policy needs at least one rule")
	}
	priorities := map[int]bool{}
	anyRule := 0
	for _, r := range p.Rules {
		sel := r.Selection
		switch {
		case r.RulePriority < 1:
			return p, invalidLifecycle("rulePriority must be a positive integer")
		case priorities[r.RulePriority]:
			return p, invalidLifecycle("rulePriority %d is used more than once", r.RulePriority)
		case r.Action.Type != "expire":
			return p, invalidLifecycle("rule %d: action type must be expire", r.RulePriority)
		case sel.TagStatus != "tagged" && sel.TagStatus != "untagged" && sel.TagStatus != "any":
			return p, invalidLifecycle("rule %d: tagStatus must be tagged, untagged or any", r.RulePriority)
		case sel.TagStatus == "tagged" && len(sel.TagPrefixList) == 0 && len(sel.TagPatternList) == 0:
			return p, invalidLifecycle("rule %d: tagged selections need tagPrefixList or tagPatternList", r.RulePriority)
		case sel.TagStatus != "tagged" && (sel.TagPrefixList != nil || sel.TagPatternList != nil):
			return p, invalidLifecycle("rule %d: tagPrefixList and tagPatternList apply to tagged selections only", r.RulePriority)
		case sel.TagPrefixList != nil && sel.TagPatternList != nil:
			return p, invalidLifecycle("rule %d: use tagPrefixList or tagPatternList, not both", r.RulePriority)
		case sel.CountNumber < 1:
			return p, invalidLifecycle("rule %d: countNumber must be a positive integer", r.RulePriority)
		case sel.CountType == "imageCountMoreThan" && sel.CountUnit != "":
			return p, invalidLifecycle("rule %d: countUnit does not apply to imageCountMoreThan", r.RulePriority)
		case sel.CountType == "sinceImagePushed" && sel.CountUnit != "days":
			return p, invalidLifecycle("rule %d: sinceImagePushed needs countUnit days", r.RulePriority)
		case sel.CountType != "imageCountMoreThan" && sel.CountType != "sinceImagePushed":
			return p, invalidLifecycle("rule %d: countType must be imageCountMoreThan or sinceImagePushed", r.RulePriority)
		}
		for _, pat := range sel.TagPatternList {
			if strings.Count(pat, "*") > 4 || pat == "" {
				return p, invalidLifecycle("rule %d: a tag pattern must be non-empty with at most 4 wildcards", r.RulePriority)
			}
		}
		priorities[r.RulePriority] = true
		if sel.TagStatus == "any" {
			anyRule = r.RulePriority
		}
	}
	slices.SortFunc(p.Rules, func(a, b lifecycleRule) int { return cmp.Compare(a.RulePriority, b.RulePriority) })
	if anyRule != 0 && p.Rules[len(p.Rules)-1].RulePriority != anyRule {
		return p, invalidLifecycle("the rule with tagStatus any must have the highest rulePriority")
	}
	return p, nil
}

// lifecycleImage is what a lifecycle rule looks at.
type lifecycleImage struct {
	Digest   digest.Digest
	Tags     []string
	PushedAt time.Time
}

// expiry is an image a rule expires.
type expiry struct {
	Image lifecycleImage
	Rule  int
}

// evaluate decides which images a policy expires at now. Rules run by
// priority; an image selected by a rule can no longer be expired by a
// later one (but still counts for it), and older images go first.
func (p lifecyclePolicy) evaluate(images []lifecycleImage, now time.Time) []expiry {
	byAge := slices.Clone(images)
	slices.SortFunc(byAge, func(a, b lifecycleImage) int { // youngest first
		return cmp.Or(b.PushedAt.Compare(a.PushedAt), cmp.Compare(a.Digest, b.Digest))
	})
	claimed := map[digest.Digest]bool{}
	var out []expiry
	for _, r := range p.Rules {
		var selected []lifecycleImage
		for _, img := range byAge {
			if r.Selection.matches(img.Tags) {
				selected = append(selected, img)
			}
		}
		for i, img := range selected {
			expire := false
			switch r.Selection.CountType {
			case "imageCountMoreThan":
				expire = i >= r.Selection.CountNumber
			case "sinceImagePushed":
				expire = img.PushedAt.Before(now.Add(-time.Duration(r.Selection.CountNumber) * 24 * time.Hour))
			}
			if expire && !claimed[img.Digest] {
				out = append(out, expiry{Image: img, Rule: r.RulePriority})
			}
		}
		for _, img := range selected {
			claimed[img.Digest] = true
		}
	}
	return out
}

// matches reports whether an image with these tags is selected.
func (s lifecycleSelection) matches(tags []string) bool {
	switch s.TagStatus {
	case "untagged":
		return len(tags) == 0
	case "any":
		return true
	}
	if len(tags) == 0 {
		return false
	}
	for _, prefix := range s.TagPrefixList {
		if !slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, prefix) }) {
			return false
		}
	}
	for _, pat := range s.TagPatternList {
		if !slices.ContainsFunc(tags, func(t string) bool { return wildcard(pat, t) }) {
			return false
		}
	}
	return true
}

// wildcard matches a tag against a pattern in which '*' stands for any
// run of characters; path.Match's other special characters are escaped.
func wildcard(pattern, tag string) bool {
	escaped := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `?`, `\?`).Replace(pattern)
	ok, _ := path.Match(escaped, tag)
	return ok
}
