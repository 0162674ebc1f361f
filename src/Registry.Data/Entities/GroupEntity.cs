namespace Registry.Data.Entities;

/// <summary>An IAM-style group: policies attached to it apply to its members.</summary>
public sealed class GroupEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }
}
