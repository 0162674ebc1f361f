namespace Registry.GarbageCollection;

/// <summary>Online garbage collection (section <c>GarbageCollection</c>).</summary>
public sealed class GarbageCollectionOptions
{
    public const string SectionName = "GarbageCollection";

    /// <summary>Collect in the background while serving. Off, only <c>registry gc</c> collects.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between background runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a blob stays after it was last uploaded, mounted or released by a deleted manifest, and
    /// a link or an untagged manifest after it was made or untagged: longer than any push takes between
    /// uploading its first layer and putting its manifest.
    /// </summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Also delete manifests that no tag reaches (directly, as a child of a tagged index, or as a
    /// referrer of a reachable manifest). Off by default: pulling by digest is a promise some users rely on.
    /// </summary>
    public bool DeleteUntagged { get; set; }
}
