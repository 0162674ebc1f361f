namespace Registry.Data.Entities;

/// <summary>One revision of an ECS task definition family, as registered (normalized JSON).</summary>
public sealed class TaskDefinitionEntity
{
    public long Id { get; set; }

    public required string Family { get; set; }

    public int Revision { get; set; }

    /// <summary><c>ACTIVE</c> or <c>INACTIVE</c> (deregistered).</summary>
    public required string Status { get; set; }

    /// <summary>The task definition's members (containerDefinitions, cpu, memory, networkMode, roles…) as JSON.</summary>
    public required string Document { get; set; }

    public DateTime RegisteredAt { get; set; }

    public required string RegisteredBy { get; set; }

    public DateTime? DeregisteredAt { get; set; }
}
