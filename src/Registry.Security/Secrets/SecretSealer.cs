using System.Security.Cryptography;
using System.Text;

namespace Registry.Security.Secrets;

/// <summary>
/// Seals secrets the registry must be able to read back (access key secrets: SigV4 signs with them)
/// under a 256-bit key kept in a file readable by the owner only, created on first use. Replicas share
/// the file. Each sealed value is bound to its owner's id, so one key's sealed secret cannot be
/// swapped into another key's row.
/// </summary>
public sealed class SecretSealer
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public SecretSealer(string keyPath)
    {
        if (!File.Exists(keyPath))
        {
            Create(keyPath);
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(keyPath).Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        _key = key.Length == 32 ? key : throw new InvalidDataException($"{keyPath}: expected the base64 of 32 bytes");
    }

    public string Seal(string secret, string boundTo)
    {
        var plaintext = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize, plaintext.Length), sealedBytes.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(boundTo));
        return Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The secret sealed for <paramref name="boundTo"/>; throws <see cref="CryptographicException"/> when it was sealed under another key or for another owner, or altered.</summary>
    public string Open(string sealedText, string boundTo)
    {
        var sealedBytes = Convert.FromBase64String(sealedText);
        if (sealedBytes.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("sealed secret is truncated");
        }

        var length = sealedBytes.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, length), sealedBytes.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(boundTo));
        return Encoding.UTF8.GetString(plaintext);
    }

    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n"));
        file.Flush(flushToDisk: true);
    }
}
