namespace Registry.Storage.AzureBlob;

/// <summary>Where the Azure Blob store keeps its blobs (section <c>Storage:Azure</c>).</summary>
public sealed class AzureBlobStoreOptions
{
    public const string SectionName = "Storage:Azure";

    /// <summary>Storage account connection string (account key or SAS), as the Azure portal shows it (required).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Container holding blobs and uploads (required).</summary>
    public string Container { get; set; } = "";

    /// <summary>Blob name prefix, e.g. <c>registry/</c>, so several registries can share a container.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Create the container at start when it does not exist.</summary>
    public bool CreateContainer { get; set; }

    /// <summary>Largest block staged per request; each chunk being written holds up to two in memory.</summary>
    public int BlockSize { get; set; } = 8 * 1024 * 1024;
}
