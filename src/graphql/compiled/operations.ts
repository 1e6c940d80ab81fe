/**
 * Compiled operations: a GraphQL document parsed, validated (graphql's specified rules plus the
 * limit rules: depth, aliases, root fields, cost) and compiled with graphql-jit once, then kept in a
 * bounded LRU by document text and operation name. Only what the fast path may run is compiled: a
 * valid `query` operation without introspection fields (`__schema`, `__type`). Anything else
 * (invalid, refused by a limit, a subscription, introspection, several operations without a name)
 * is remembered as "not compiled" so the HTTP layer hands it to Apollo, which answers it as it
 * always did (same errors, same statuses).
 */
import {
  getOperationAST, Kind, parse, specifiedRules, validate, visit, BREAK,
  type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationRule,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

/** An operation the fast path runs. */
export interface CompiledOperation {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | undefined;
  /** graphql-jit's executor of the operation (the schema's resolvers, without per-field dispatch). */
  readonly compiled: CompiledQuery;
}

/** Options of {@link OperationCache}. */
export interface OperationCacheOptions {
  readonly schema: GraphQLSchema;
  /** Validation rules added to graphql's specified rules (the limit rules: executableSchema.ts `limitRules`). */
  readonly rules: readonly ValidationRule[];
  /** Parser token limit (LimitsConfig.maxTokens), as Apollo parses. */
  readonly maxTokens: number;
  /** Documents remembered (compiled or not). @default 1_000 */
  readonly size?: number;
  /** Longest document text remembered, in characters; longer ones are left to Apollo. @default 100_000 */
  readonly maxDocumentChars?: number;
}

/** Whether the document selects `__schema` or `__type` anywhere (introspection stays on Apollo). */
function hasIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Documents → compiled operations (or "not compiled"), bounded. */
export class OperationCache {
  private readonly cache: LRUCache<string, CompiledOperation | false>;
  private readonly rules: readonly ValidationRule[];
  private readonly maxDocumentChars: number;

  constructor(private readonly o: OperationCacheOptions) {
    this.cache = new LRUCache({ max: o.size ?? 1_000 });
    this.rules = [...specifiedRules, ...o.rules];
    this.maxDocumentChars = o.maxDocumentChars ?? 100_000;
  }

  /** The compiled operation of `query` and `operationName`, or undefined when Apollo must handle it. */
  get(query: string, operationName: string | undefined): CompiledOperation | undefined {
    if (query.length > this.maxDocumentChars) return undefined;
    const key = operationName === undefined ? query : `${operationName}\u0000${query}`;
    let entry = this.cache.get(key);
    if (entry === undefined) {
      entry = this.compile(query, operationName) ?? false;
      this.cache.set(key, entry);
    }
    return entry === false ? undefined : entry;
  }

  private compile(query: string, operationName: string | undefined): CompiledOperation | undefined {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.o.maxTokens });
    } catch {
      return undefined;
    }
    if (validate(this.o.schema, document, this.rules).length > 0) return undefined;
    const operation = getOperationAST(document, operationName);
    if (operation === null || operation === undefined || operation.operation !== 'query' || hasIntrospection(document)) return undefined;
    if (document.definitions.some((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION)) return undefined;
    const compiled = compileQuery(this.o.schema, document, operationName);
    if (!isCompiledQuery(compiled)) return undefined;
    return { schema: this.o.schema, document, operation, operationName, compiled };
  }
}
