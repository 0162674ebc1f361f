namespace Registry.Data.Entities;

/// <summary>A repository; created by its first push.</summary>
public sealed class RepositoryEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>The repository policy (a resource policy in AWS's JSON grammar), or null.</summary>
    public string? Policy { get; set; }
}
