package ecs

import (
	"context"

	"github.com/berth-dev/berth/internal/api"
)

// An instance acts only as itself. The agent of an instance launched with
// an instance profile calls as the profile role's session issued for its
// EC2 instance id (api.Principal.SourceInstance); such a caller may poll,
// report telemetry, fetch task credentials, re-register, deregister and
// submit state only for the container instance registered with that id,
// whatever its role's policies allow. Users, the root user and other
// sessions keep the rights their policies give them, but task role keys
// go only to the instance itself or to whoever registered it.

// actsAs refuses an instance's session acting on another instance with
// an AccessDeniedException naming the ECS action and resource.
func actsAs(ctx context.Context, action string, inst *instanceRecord) error {
	p := api.PrincipalFrom(ctx)
	if p.SourceInstance == "" || p.SourceInstance == inst.Instance.Ec2InstanceId {
		return nil
	}
	return notThisInstance(p, action, inst.Instance.ContainerInstanceArn)
}

func notThisInstance(p api.Principal, action, resource string) error {
	return api.Errorf(api.CodeAccessDenied,
		"User: %s is not authorized to perform: ecs:%s on resource: %s: its credentials were issued for instance %s, and an instance may act only as itself.",
		p.ARN, action, resource, p.SourceInstance)
}

// receivesKeys reports whether the caller may be handed task role keys of
// the tasks on inst (over ACS or the task-credentials endpoint): the
// instance's own session, or the principal that registered it.
func receivesKeys(p api.Principal, inst *instanceRecord) bool {
	if p.SourceInstance != "" {
		return p.SourceInstance == inst.Instance.Ec2InstanceId
	}
	return inst.RegisteredBy != "" && p.ARN == inst.RegisteredBy
}

// checkRegistration refuses an instance's session registering an instance
// under an identity document of another instance, and returns the EC2
// instance id the new registration gets: the document's, else the
// caller's own instance, else a made-up managed-instance id.
func checkRegistration(ctx context.Context, doc identityDocument, clusterARN string) (string, error) {
	p := api.PrincipalFrom(ctx)
	switch {
	case p.SourceInstance == "":
		if doc.InstanceID != "" {
			return doc.InstanceID, nil
		}
		return "mi-" + randomHex(17), nil
	case doc.InstanceID == "" || doc.InstanceID == p.SourceInstance:
		return p.SourceInstance, nil
	default:
		return "", notThisInstance(p, "RegisterContainerInstance", clusterARN)
	}
}

// verifyIdentity believes an identity document's EC2 instance id only with
// its signature: a signed document must verify, and a document naming an
// EC2 instance of the account must be signed. Other documents (instances
// outside EC2, as ECS Anywhere's) are taken at their word.
func (s *Service) verifyIdentity(ctx context.Context, in *RegisterContainerInstanceInput, doc identityDocument) error {
	v := s.cfg.Identity
	if v == nil {
		return nil
	}
	if in.InstanceIdentityDocumentSignature == "" {
		if doc.InstanceID == "" {
			return nil
		}
		isEC2, err := v.IsInstance(ctx, doc.InstanceID)
		if err != nil || !isEC2 {
			return err
		}
		return api.InvalidParameter("The instance identity document names EC2 instance %s but carries no instanceIdentityDocumentSignature.", doc.InstanceID)
	}
	id, err := v.VerifyIdentity(ctx, in.InstanceIdentityDocument, in.InstanceIdentityDocumentSignature)
	if err != nil {
		return err
	}
	if id != doc.InstanceID {
		return api.InvalidParameter("The instance identity document signature is not valid for this document.")
	}
	return nil
}
