using Registry.Core.Content;

namespace Registry.Core.Names;

/// <summary>
/// The <c>&lt;reference&gt;</c> of a manifest URL: a tag or a digest. A string with a colon is a
/// digest (tags cannot contain one), so a malformed digest is reported as such, not as a bad tag.
/// </summary>
public sealed record Reference(string? Tag, Digest? Digest)
{
    public bool IsDigest => Digest is not null;

    public static ReferenceParseResult Parse(string value)
    {
        if (value.Contains(':', StringComparison.Ordinal))
        {
            return Content.Digest.TryParse(value, out var digest)
                ? new(new Reference(null, digest), null)
                : new(null, ReferenceError.InvalidDigest);
        }

        return TagName.IsValid(value) ? new(new Reference(value, null), null) : new(null, ReferenceError.InvalidTag);
    }

    public override string ToString() => Tag ?? Digest!.Value;
}

public enum ReferenceError
{
    InvalidDigest,
    InvalidTag,
}

public readonly record struct ReferenceParseResult(Reference? Reference, ReferenceError? Error);
