namespace Registry.Data.Entities;

/// <summary>One audited request: a change, or a denial, with who made it, from where, and how it ended.</summary>
public sealed class AuditEventEntity
{
    public long Id { get; set; }

    public DateTime Time { get; set; }

    /// <summary>The signed-in user, or <c>anonymous</c>.</summary>
    public required string Principal { get; set; }

    /// <summary>The action as policies name it (<c>ecr:PutImage</c>, <c>iam:CreateUser</c>).</summary>
    public required string Action { get; set; }

    /// <summary>The ARN acted on.</summary>
    public required string Resource { get; set; }

    public string? SourceIp { get; set; }

    /// <summary><c>Allowed</c> (done), <c>Denied</c> (by authentication or policy) or <c>Failed</c> (refused as invalid, or an error).</summary>
    public required string Outcome { get; set; }

    /// <summary>The HTTP status, and for failures the error code.</summary>
    public string? Detail { get; set; }
}
