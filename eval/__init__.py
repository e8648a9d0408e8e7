"""Evaluation of ExhibitQA against gold sets of questions (see eval/gold/)."""
