"""Topic names of the event contract (README "Event contract")."""

PAYMENT_SUCCESS = "OnPaymentSuccess"
DEDUCT_SUCCESS = "OnInventoryDeductSuccess"
DEDUCT_FAILED = "OnInventoryDeductFailed"
DEDUCT_SUCCESS_DLQ = "OnInventoryDeductSuccessDLQ"
REVERTED = "OnInventoryReverted"
OUTCOMES = (DEDUCT_SUCCESS, DEDUCT_FAILED, REVERTED)
