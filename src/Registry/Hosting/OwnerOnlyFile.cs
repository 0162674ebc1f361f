namespace Registry.Hosting;

/// <summary>Creates files that hold secrets (keys, generated passwords) readable by their owner only.</summary>
internal static class OwnerOnlyFile
{
    public static FileStream Create(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}
