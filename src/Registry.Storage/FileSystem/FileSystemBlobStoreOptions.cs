namespace Registry.Storage.FileSystem;

/// <summary>Where the filesystem blob store keeps its files.</summary>
public sealed class FileSystemBlobStoreOptions
{
    public const string SectionName = "Storage:FileSystem";

    /// <summary>Root folder; blobs go to <c>blobs/</c> and uploads to <c>uploads/</c> under it.</summary>
    public string RootPath { get; set; } = "";
}
