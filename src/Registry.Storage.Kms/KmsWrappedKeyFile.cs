using System.Text;
using Registry.Storage.Encryption;

namespace Registry.Storage.Kms;

/// <summary>
/// Master keys kept only as KMS ciphertexts: a file of <c>&lt;id&gt; kms:&lt;base64 ciphertext&gt;</c> lines, the
/// last current, each unwrapped by KMS at start (bound to its id through the encryption context, so
/// lines cannot be swapped). Without the KMS key's decrypt permission the file is useless. A missing file
/// is created with one key generated under <c>KmsKeyId</c>; rotate by appending a line made with
/// <c>aws kms generate-data-key --key-id … --key-spec AES_256 --encryption-context registry-master-key=&lt;id&gt;</c>
/// (its CiphertextBlob): new blobs use it, old ones stay readable.
/// </summary>
public sealed class KmsWrappedKeyFile : IMasterKeyProvider
{
    private const string Prefix = "kms:";
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    private KmsWrappedKeyFile()
    {
    }

    public string CurrentKeyId { get; private set; } = "";

    public static async Task<KmsWrappedKeyFile> LoadAsync(string path, IKmsClient kms, string kmsKeyId, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            await CreateAsync(path, kms, kmsKeyId, cancellationToken);
        }

        var file = new KmsWrappedKeyFile();
        var number = 0;
        foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken))
        {
            number++;
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var parts = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            byte[] ciphertext;
            try
            {
                ciphertext = parts.Length == 2 && parts[1].StartsWith(Prefix, StringComparison.Ordinal) ? Convert.FromBase64String(parts[1][Prefix.Length..]) : [];
            }
            catch (FormatException)
            {
                ciphertext = [];
            }

            if (ciphertext.Length == 0 || !MasterKeyIds.IsValid(parts[0]))
            {
                throw new InvalidDataException($"{path}:{number}: expected '<id> kms:<base64 ciphertext>' with {MasterKeyIds.Rule}");
            }

            var key = await kms.DecryptAsync(ciphertext, Context(parts[0]), cancellationToken);
            file._keys[parts[0]] = key.Length == 32 ? key : throw new InvalidDataException($"{path}:{number}: KMS returned a {key.Length}-byte key, not 32 bytes");
            file.CurrentKeyId = parts[0];
        }

        return file.CurrentKeyId.Length > 0 ? file : throw new InvalidDataException($"{path}: no master key");
    }

    public ReadOnlySpan<byte> Key(string keyId) =>
        _keys.TryGetValue(keyId, out var key) ? key : throw new BlobUnreadableException($"master key '{keyId}' is not in the key file");

    /// <summary>The encryption context every master key's ciphertext is bound to.</summary>
    public static IReadOnlyDictionary<string, string> Context(string keyId) => new Dictionary<string, string> { ["registry-master-key"] = keyId };

    private static async Task CreateAsync(string path, IKmsClient kms, string kmsKeyId, CancellationToken cancellationToken)
    {
        var id = $"kms-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var (_, ciphertext) = await kms.GenerateDataKeyAsync(kmsKeyId, Context(id), cancellationToken);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var stream = new FileStream(path, options);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{id} {Prefix}{Convert.ToBase64String(ciphertext)}\n"), cancellationToken);
        await stream.FlushAsync(cancellationToken);
        stream.Flush(flushToDisk: true);
    }
}
