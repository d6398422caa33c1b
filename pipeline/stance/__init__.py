"""Stance: does a claim argue for or against a proposition of the debate?"""
