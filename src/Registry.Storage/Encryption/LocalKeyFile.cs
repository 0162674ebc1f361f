using System.Text;

namespace Registry.Storage.Encryption;

/// <summary>
/// Master keys from a local file: one key per line, <c>&lt;id&gt; &lt;base64 of 32 bytes&gt;</c>; the
/// last line is the current key. Rotation: append a line (old blobs keep naming their key). A missing
/// file is created with one fresh key, readable by the owner only.
/// </summary>
public sealed class LocalKeyFile : IMasterKeyProvider
{
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public LocalKeyFile(string path)
    {
        if (!File.Exists(path))
        {
            Create(path);
        }

        var number = 0;
        foreach (var line in File.ReadAllLines(path))
        {
            number++;
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var parts = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            byte[] key;
            try
            {
                key = parts.Length == 2 ? Convert.FromBase64String(parts[1]) : [];
            }
            catch (FormatException)
            {
                key = [];
            }

            if (key.Length != 32 || !MasterKeyIds.IsValid(parts[0]))
            {
                throw new InvalidDataException($"{path}:{number}: expected '<id> <base64 of 32 bytes>' with {MasterKeyIds.Rule}");
            }

            _keys[parts[0]] = key;
            CurrentKeyId = parts[0];
        }

        if (CurrentKeyId.Length == 0)
        {
            throw new InvalidDataException($"{path}: no master key");
        }
    }

    public string CurrentKeyId { get; } = "";

    public ReadOnlySpan<byte> Key(string keyId) =>
        _keys.TryGetValue(keyId, out var key) ? key : throw new BlobUnreadableException($"master key '{keyId}' is not in the key file");

    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var line = $"key-{DateTime.UtcNow:yyyyMMdd-HHmmss} {Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}\n";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        file.Write(Encoding.ASCII.GetBytes(line));
        file.Flush(flushToDisk: true);
    }
}
