namespace Registry.Data.Entities;

/// <summary>A tag (key and value) on a resource, by ARN: repositories now, clusters and tasks later.</summary>
public sealed class ResourceTagEntity
{
    public required string ResourceArn { get; set; }

    public required string Key { get; set; }

    public required string Value { get; set; }
}
