using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Registry.Core.Content;

/// <summary>
/// A content digest, <c>algorithm:encoded</c>, as defined by the OCI image spec
/// (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests).
/// Only the registered algorithms sha256 and sha512 are accepted, in their canonical
/// lower-case hex encoding, so that one blob has exactly one name.
/// </summary>
public sealed class Digest : IEquatable<Digest>
{
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";

    private Digest(string algorithm, string encoded)
    {
        Algorithm = algorithm;
        Encoded = encoded;
        Value = algorithm + ":" + encoded;
    }

    public string Algorithm { get; }

    public string Encoded { get; }

    /// <summary>The full <c>algorithm:encoded</c> string.</summary>
    public string Value { get; }

    public static Digest Parse(string value) =>
        TryParse(value, out var digest) ? digest : throw new FormatException($"'{value}' is not a valid digest.");

    /// <summary>Parses a digest; false for anything but a well-formed sha256 or sha512 digest.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Digest? digest)
    {
        digest = null;
        if (value is null)
        {
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var algorithm = value[..colon];
        var encoded = value[(colon + 1)..];
        var expectedLength = algorithm switch
        {
            Sha256 => 64,
            Sha512 => 128,
            _ => -1,
        };
        if (encoded.Length != expectedLength || !IsLowerHex(encoded))
        {
            return false;
        }

        digest = new Digest(algorithm, encoded);
        return true;
    }

    /// <summary>Computes the sha256 digest of a byte sequence.</summary>
    public static Digest Compute(ReadOnlySpan<byte> content) =>
        new(Sha256, Convert.ToHexStringLower(SHA256.HashData(content)));

    /// <summary>Builds a digest from a finished hash of the given algorithm.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) =>
        new(algorithm, Convert.ToHexStringLower(hash));

    /// <summary>Whether <paramref name="content"/> hashes to this digest, with this digest's algorithm.</summary>
    public bool Matches(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[64];
        var written = Algorithm == Sha512 ? SHA512.HashData(content, hash) : SHA256.HashData(content, hash);
        return FromHash(Algorithm, hash[..written]).Equals(this);
    }

    public HashAlgorithmName HashAlgorithm => Algorithm == Sha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;

    public bool Equals(Digest? other) => other is not null && Value == other.Value;

    public override bool Equals(object? obj) => obj is Digest other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Value;

    private static bool IsLowerHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
