namespace Registry.Core.Errors;

/// <summary>
/// Error codes of the distribution spec
/// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes).
/// </summary>
public enum OciErrorCode
{
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    RangeInvalid,
    PaginationNumberInvalid,
    TagInvalid,

    /// <summary>The server cannot serve what it stored (distribution's UNKNOWN, 500).</summary>
    Unknown,

    /// <summary>A backend the request needs is unreachable; retry later (distribution's UNAVAILABLE, 503).</summary>
    Unavailable,
}
