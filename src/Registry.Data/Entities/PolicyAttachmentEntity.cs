namespace Registry.Data.Entities;

/// <summary>A managed policy attached to a user, a group or a role.</summary>
public sealed class PolicyAttachmentEntity
{
    public long PolicyId { get; set; }

    public PrincipalKind PrincipalKind { get; set; }

    public long PrincipalId { get; set; }
}

public enum PrincipalKind
{
    User = 0,
    Group = 1,
    Role = 2,
}
