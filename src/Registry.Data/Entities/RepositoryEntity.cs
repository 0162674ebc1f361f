namespace Registry.Data.Entities;

/// <summary>A repository; created by its first push.</summary>
public sealed class RepositoryEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }
}
