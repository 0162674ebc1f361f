namespace Registry.Hosting;

/// <summary>Top-level settings of <c>registry serve</c> (section <c>Registry</c>).</summary>
public sealed class RegistryOptions
{
    public const string SectionName = "Registry";

    /// <summary>The data folder: SQLite database, blobs and keys, unless configured elsewhere.</summary>
    public string DataPath { get; set; } = "./data";

    /// <summary>Largest manifest accepted, in bytes; manifests are read whole, so they are capped.</summary>
    public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// When a mount names no <c>from</c> repository, mount the blob from any repository the caller
    /// may pull from (content discovery). Off, such a mount opens an ordinary upload session.
    /// </summary>
    public bool AutomaticCrossMount { get; set; } = true;

    /// <summary>Page size of tags and catalog listings when the client sends no <c>n</c>.</summary>
    public int DefaultPageSize { get; set; } = 1000;

    /// <summary>Largest page a client may ask for with <c>n</c>.</summary>
    public int MaxPageSize { get; set; } = 10000;

    /// <summary>
    /// How long a served manifest may be answered from memory. Changes made through this process are
    /// seen at once; the lifetime bounds staleness only for changes made by another process. 0 disables.
    /// Unset, it is 60 on SQLite (one process) and 0 on PostgreSQL, where replicas share the database
    /// and a tag moved through one must not be served stale by another.
    /// </summary>
    public int? ManifestCacheSeconds { get; set; }

    /// <summary>An upload session untouched for this long is abandoned: its session and bytes are removed.</summary>
    public TimeSpan UploadSessionLifetime { get; set; } = TimeSpan.FromHours(24);
}
