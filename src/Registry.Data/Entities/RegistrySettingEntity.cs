namespace Registry.Data.Entities;

/// <summary>A registry-wide setting stored with the metadata, shared by every replica (the registry policy).</summary>
public sealed class RegistrySettingEntity
{
    public required string Name { get; set; }

    public required string Value { get; set; }

    public DateTime UpdatedAt { get; set; }
}
