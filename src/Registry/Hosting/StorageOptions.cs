namespace Registry.Hosting;

/// <summary>Blob storage settings (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary><c>filesystem</c> (embedded default).</summary>
    public string Type { get; set; } = "filesystem";
}
