namespace Registry.Data.Entities;

/// <summary>A named identity policy (AWS's JSON grammar), attachable to users, groups and roles.</summary>
public sealed class ManagedPolicyEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public required string Document { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}
