namespace Registry.Data.Entities;

/// <summary>An IAM-style role: an identity without a password, taken on by tasks and services; its trust policy says who may.</summary>
public sealed class RoleEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>The role's trust (assume-role) policy document, a resource policy on the role.</summary>
    public string? TrustPolicy { get; set; }

    public DateTime CreatedAt { get; set; }
}
