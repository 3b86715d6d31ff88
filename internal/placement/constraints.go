package placement

import (
	"fmt"
)

// MaxConstraints is how many constraints a task may carry, from its task
// definition and its RunTask request together.
const MaxConstraints = 10

// Constraint is a compiled placement constraint.
type Constraint struct {
	// Type is "distinctInstance" or "memberOf".
	Type string
	// Expression is the memberOf expression as written.
	Expression string
	expr       Expr
}

// ParseConstraint validates and compiles a placement constraint.
func ParseConstraint(typ, expression string) (Constraint, error) {
	switch typ {
	case "distinctInstance":
		if expression != "" {
			return Constraint{}, fmt.Errorf("distinctInstance constraints take no expression")
		}
		return Constraint{Type: typ}, nil
	case "memberOf":
		if expression == "" {
			return Constraint{}, fmt.Errorf("memberOf constraints need an expression")
		}
		e, err := ParseExpr(expression)
		if err != nil {
			return Constraint{}, fmt.Errorf("invalid memberOf expression %q: %w", expression, err)
		}
		return Constraint{Type: typ, Expression: expression, expr: e}, nil
	}
	return Constraint{}, fmt.Errorf("unknown placement constraint type %q; valid types are distinctInstance and memberOf", typ)
}

func (c Constraint) satisfied(in *Instance, r *Request) bool {
	if c.Type == "distinctInstance" {
		return in.TaskGroups[r.Group] == 0
	}
	return c.expr.Eval(in)
}

func (c Constraint) reason() string {
	if c.Type == "distinctInstance" {
		return "DistinctInstance placement constraint unsatisfied."
	}
	return "MemberOf placement constraint unsatisfied."
}
