namespace Registry.Data.Entities;

/// <summary>An ECS cluster: a named group of container instances that tasks run on.</summary>
public sealed class ClusterEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary><c>ACTIVE</c>, or <c>INACTIVE</c> once deleted (ECS keeps describing deleted clusters for a while).</summary>
    public required string Status { get; set; }

    public DateTime CreatedAt { get; set; }
}
