/**
 * What a top-level statement's parse tree says about transactions: whether it is transaction control (which would
 * end fanout's own transaction around a migration) and whether PostgreSQL refuses it inside a transaction block.
 * Only top-level statements count: a COMMIT in a procedure's or DO block's body is that body's business.
 */
type Tree = Record<string, unknown>
type Node = Record<string, unknown> | undefined

const CONTROL: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
}

/** `COMMIT`, `SAVEPOINT`…: the statement ends or reshapes the transaction it runs in. */
export function transactionControl(tree: Tree): string | undefined {
  const node = tree.TransactionStmt as Node
  return node ? (CONTROL[node.kind as string] ?? 'a transaction statement') : undefined
}

const hasOption = (options: unknown, name: string) =>
  Array.isArray(options) && options.some((option) => (option as {DefElem?: {defname?: string}}).DefElem?.defname === name)

/** The statements PostgreSQL runs only outside a transaction block (PreventInTransactionBlock), as named in messages. */
export function cannotRunInTransaction(tree: Tree): string | undefined {
  const [[type, value]] = Object.entries(tree) as [[string, Node]]
  const node = value ?? {}
  switch (type) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined
    case 'DropStmt':
      return node.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined
    case 'ReindexStmt':
      if (hasOption(node.params, 'concurrently')) return 'REINDEX CONCURRENTLY'
      return ['REINDEX_OBJECT_SCHEMA', 'REINDEX_OBJECT_SYSTEM', 'REINDEX_OBJECT_DATABASE'].includes(node.kind as string) ? 'REINDEX SCHEMA/SYSTEM/DATABASE' : undefined
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM' : undefined // ANALYZE alone runs in a transaction
    case 'AlterTableStmt': {
      const detach = (node.cmds as {AlterTableCmd?: {subtype?: string; def?: {PartitionCmd?: {concurrent?: boolean}}}}[] | undefined)?.some(
        ({AlterTableCmd: cmd}) => cmd?.subtype === 'AT_DetachPartition' && cmd.def?.PartitionCmd?.concurrent,
      )
      return detach ? 'DETACH PARTITION CONCURRENTLY' : undefined
    }
    case 'AlterDatabaseStmt':
      return hasOption(node.options, 'tablespace') ? 'ALTER DATABASE SET TABLESPACE' : undefined
    case 'ClusterStmt':
      return node.relation ? undefined : 'CLUSTER (every table)'
    case 'DiscardStmt':
      return node.target === 'DISCARD_ALL' ? 'DISCARD ALL' : undefined
    default:
      return OUTSIDE_ALWAYS[type]
  }
}

const OUTSIDE_ALWAYS: Record<string, string> = {
  AlterSystemStmt: 'ALTER SYSTEM',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  CreateTableSpaceStmt: 'CREATE TABLESPACE',
  DropTableSpaceStmt: 'DROP TABLESPACE',
  CreateSubscriptionStmt: 'CREATE SUBSCRIPTION',
  DropSubscriptionStmt: 'DROP SUBSCRIPTION',
}
