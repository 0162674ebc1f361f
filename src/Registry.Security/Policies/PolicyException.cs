namespace Registry.Security.Policies;

/// <summary>A policy document that does not follow the grammar; the message names the offending element (<c>Statement[1].Effect</c>).</summary>
public sealed class PolicyException : Exception
{
    public PolicyException(string element, string problem)
        : base($"{element}: {problem}") => Element = element;

    public PolicyException()
    {
        Element = "";
    }

    public PolicyException(string message)
        : base(message) => Element = "";

    public PolicyException(string message, Exception innerException)
        : base(message, innerException) => Element = "";

    /// <summary>Path of the offending element, e.g. <c>Statement[0].Condition.StringEquals</c>.</summary>
    public string Element { get; }
}
