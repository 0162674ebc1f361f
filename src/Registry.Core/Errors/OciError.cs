namespace Registry.Core.Errors;

/// <summary>
/// One entry of the spec's error body <c>{"errors":[{"code","message","detail"}]}</c>, with the
/// HTTP status it is sent with. The status defaults to the one table below; the few places where
/// the spec asks for another (416 for an out-of-order chunk) pass it explicitly.
/// </summary>
public sealed record OciError(OciErrorCode Code, string Message, string? Detail = null, int? Status = null)
{
    public int HttpStatus => Status ?? DefaultStatus(Code);

    /// <summary>The code as the spec spells it, e.g. <c>BLOB_UNKNOWN</c>.</summary>
    public string CodeName => Code switch
    {
        OciErrorCode.BlobUnknown => "BLOB_UNKNOWN",
        OciErrorCode.BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
        OciErrorCode.BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
        OciErrorCode.DigestInvalid => "DIGEST_INVALID",
        OciErrorCode.ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
        OciErrorCode.ManifestInvalid => "MANIFEST_INVALID",
        OciErrorCode.ManifestUnknown => "MANIFEST_UNKNOWN",
        OciErrorCode.NameInvalid => "NAME_INVALID",
        OciErrorCode.NameUnknown => "NAME_UNKNOWN",
        OciErrorCode.SizeInvalid => "SIZE_INVALID",
        OciErrorCode.Unauthorized => "UNAUTHORIZED",
        OciErrorCode.Denied => "DENIED",
        OciErrorCode.Unsupported => "UNSUPPORTED",
        OciErrorCode.TooManyRequests => "TOOMANYREQUESTS",
        OciErrorCode.RangeInvalid => "RANGE_INVALID",
        OciErrorCode.PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
        OciErrorCode.TagInvalid => "TAG_INVALID",
        OciErrorCode.Unknown => "UNKNOWN",
        OciErrorCode.Unavailable => "UNAVAILABLE",
        _ => throw new ArgumentOutOfRangeException(nameof(Code)),
    };

    private static int DefaultStatus(OciErrorCode code) => code switch
    {
        OciErrorCode.BlobUnknown => 404,
        OciErrorCode.BlobUploadUnknown => 404,
        OciErrorCode.ManifestUnknown => 404,
        OciErrorCode.NameUnknown => 404,
        OciErrorCode.Unauthorized => 401,
        OciErrorCode.Denied => 403,
        OciErrorCode.Unsupported => 415,
        OciErrorCode.TooManyRequests => 429,
        OciErrorCode.Unknown => 500,
        OciErrorCode.Unavailable => 503,
        OciErrorCode.RangeInvalid => 416,
        _ => 400,
    };

    public static OciError BlobUnknown(object? digest) => new(OciErrorCode.BlobUnknown, "blob unknown to registry", digest?.ToString());

    public static OciError ManifestUnknown(string reference) => new(OciErrorCode.ManifestUnknown, "manifest unknown", reference);

    public static OciError NameUnknown(string name) => new(OciErrorCode.NameUnknown, "repository name not known to registry", name);

    public static OciError NameInvalid(string name) => new(OciErrorCode.NameInvalid, "invalid repository name", name);

    public static OciError DigestInvalid(string detail) => new(OciErrorCode.DigestInvalid, "provided digest did not match uploaded content or is malformed", detail);

    public static OciError UploadUnknown(string id) => new(OciErrorCode.BlobUploadUnknown, "blob upload unknown to registry", id);

    public static OciError ManifestInvalid(string detail) => new(OciErrorCode.ManifestInvalid, "manifest invalid", detail);
}
